"""Every host-facts sample in tests/realdata/facts gives the values its expected.json says.

The samples are outputs granja's authors did not write (see tests/realdata/README.md and
facts/SOURCES.txt); one parametrized case per sample, its expectation read from expected.json.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hypervisor.facts_parse import parse_bonding, parse_df, parse_links, parse_proc_vlans, parse_xl_info
from hypervisor.facts_script import parse_facts

FACTS = Path(__file__).parents[1] / "realdata" / "facts"
EXPECTED: dict[str, dict[str, Any]] = json.loads((FACTS / "expected.json").read_text())


def sample(name: str) -> str:
    return (FACTS / name).read_text()


def composed(sections: list[list[str]]) -> str:
    """A FACTS_SCRIPT output put together from samples: '@@MARKER' then the sample's text."""
    return "".join(f"@@{marker}\n{sample(name)}\n" for marker, name in sections)


def read(name: str, expected: dict[str, Any]) -> dict[str, Any]:
    """What granja reads from a sample, in the shape of its expected.json entry."""
    kind = expected["kind"]
    if kind == "bonding":
        bond = parse_bonding(expected["name"], sample(name))
        return {"kind": kind, "name": bond.name, "mode": bond.mode, "slaves": list(bond.slaves),
                "slaves_up": list(bond.slaves_up)}
    if kind == "df":
        storage = parse_df(sample(name))
        return {"kind": kind, "storage": [[s.path, s.size_bytes, s.free_bytes] for s in storage]}
    if kind == "xl_info":
        node = parse_xl_info(sample(name))
        return {"kind": kind, "cpus": node.cpus, "memory_mib": node.memory_mib,
                "free_memory_mib": node.free_memory_mib, "version": node.version}
    if kind == "links":
        vlans, bridges = parse_links(sample(name), sample(expected["bridge"]))
        return {"kind": kind, "bridge": expected["bridge"],
                "vlans": [[v.name, v.vlan, v.parent] for v in vlans],
                "bridges": [[b.name, list(b.ports)] for b in bridges]}
    if kind == "proc_vlan":
        return {"kind": kind, "vlans": [[v.name, v.vlan, v.parent] for v in parse_proc_vlans(sample(name))]}
    if kind == "facts":
        facts = parse_facts(composed(expected["sections"]))
        return {"kind": kind, "sections": expected["sections"], "bonds": [b.name for b in facts.bonds],
                "node_source": facts.node.source if facts.node else None, "storage": len(facts.storage)}
    if kind == "facts_script":
        facts = parse_facts(sample(name))
        return {"kind": kind, "bridges": [[b.name, list(b.ports)] for b in facts.bridges],
                "vlans": [[v.name, v.vlan, v.parent] for v in facts.vlans],
                "storage": [[s.path, s.size_bytes, s.free_bytes] for s in facts.storage],
                "node_source": facts.node.source if facts.node else None,
                "unknown": [n.section for n in facts.unknown],
                "fallback": [n.section for n in facts.fallback]}
    raise AssertionError(f"expected.json names a kind this test does not know: {kind}")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_reads_as_expected(name):
    expected = {key: value for key, value in EXPECTED[name].items() if key != "why"}
    assert read(name, expected) == expected, EXPECTED[name].get("why", "")


def test_the_sysfs_fallback_reads_what_the_json_read_on_the_same_kernel():
    """The three script captures saw one network: with and without iproute2's JSON, the same bridges."""
    captures = [e for e in EXPECTED.values() if e["kind"] == "facts_script"]
    assert len(captures) == 3
    assert {"bridges"} in [set(e["fallback"]) for e in captures]
    assert len({frozenset((n, frozenset(p)) for n, p in e["bridges"]) for e in captures}) == 1


def test_every_sample_file_has_an_expectation():
    """A sample dropped into the folder without an expectation would be tested by nothing."""
    named = set(EXPECTED) | {e["bridge"] for e in EXPECTED.values() if "bridge" in e}
    named |= {file for e in EXPECTED.values() for _, file in e.get("sections", [])}
    files = {p.name for p in FACTS.iterdir() if p.name not in ("expected.json", "SOURCES.txt")
             and p.suffix != ".sh"}
    assert files - named == set()
