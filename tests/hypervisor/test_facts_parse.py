"""Parsers of host OS outputs, against outputs recorded on real hosts (tests/hypervisor/outputs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hypervisor.facts_parse import (
    parse_bonding,
    parse_df,
    parse_links,
    parse_nodeinfo,
    parse_xl_info,
)
from hypervisor.facts_script import parse_facts
from hypervisor.host_model import Bond, Bridge, NodeView, Storage, VlanIf

OUTPUTS = Path(__file__).parent / "outputs"


def recorded(name: str) -> str:
    return (OUTPUTS / name).read_text()


@pytest.mark.parametrize(("file", "expected"), [
    ("bonding-bond0-802.3ad.txt", Bond("bond0", "802.3ad", ("eno1", "eno2"), ("eno1",))),
    ("bonding-bond1-active-backup.txt", Bond("bond1", "active-backup", ("eno3", "eno4"), ("eno4",))),
])
def test_bonds_with_a_failed_slave(file, expected):
    assert parse_bonding(expected.name, recorded(file)) == expected


def test_vlans_and_bridges_with_their_ports():
    vlans, bridges = parse_links(recorded("ip-link.json"), recorded("bridge-link.json"))
    assert vlans == (VlanIf("bond0.120", 120, "bond0"), VlanIf("bond1.10", 10, "bond1"))
    assert bridges == (Bridge("br120", ("bond0.120", "vif3.0")), Bridge("br10", ("bond1.10",)))


def test_free_space_including_a_mount_point_with_a_space():
    assert parse_df(recorded("df.txt")) == (
        Storage("/var/lib/xen/images", 1967317614592, 1384102342656),
        Storage("/srv/vm images", 983658807296, 12884901888),
    )


def test_the_hypervisors_own_view():
    assert parse_xl_info(recorded("xl-info.txt")) == NodeView("xl info", 32, 131037, 38912, "Xen 4.14.6")
    assert parse_nodeinfo(recorded("virsh-nodeinfo.txt")) == NodeView("virsh nodeinfo", 2, 6618, None)


def test_one_script_output_gives_every_fact():
    output = (f"@@bond bond0\n{recorded('bonding-bond0-802.3ad.txt')}\n"
              f"@@bond bond1\n{recorded('bonding-bond1-active-backup.txt')}\n"
              f"@@ip\n{recorded('ip-link.json')}\n@@bridge\n{recorded('bridge-link.json')}\n"
              f"@@df\n{recorded('df.txt')}\n@@xl\n{recorded('xl-info.txt')}\n")
    facts = parse_facts(output)
    assert [b.name for b in facts.bonds] == ["bond0", "bond1"]
    assert facts.bonds[1].slaves_up == ("eno4",)
    assert len(facts.vlans) == 2
    assert len(facts.bridges) == 2
    assert len(facts.storage) == 2
    assert facts.node is not None
    assert facts.node.source == "xl info"


def test_empty_sections_give_empty_facts_and_nodeinfo_when_xl_is_missing():
    facts = parse_facts(f"@@ip\n[]\n@@bridge\n\n@@df\n@@xl\n@@nodeinfo\n{recorded('virsh-nodeinfo.txt')}")
    assert (facts.bonds, facts.vlans, facts.bridges, facts.storage) == ((), (), (), ())
    assert [n.section for n in facts.unknown] == ["storage"]  # df printed nothing: it did not answer
    assert facts.node is not None
    assert facts.node.source == "virsh nodeinfo"
