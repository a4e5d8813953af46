"""Host facts degrade one section at a time, and a bond says which slaves carry no traffic and why.

Inputs are the real samples of tests/realdata/facts (see SOURCES.txt there), some put together the
way FACTS_SCRIPT prints them.
"""

from __future__ import annotations

import json
from pathlib import Path

from hypervisor.facts_parse import parse_bonding
from hypervisor.facts_script import parse_facts
from hypervisor.host_model import Bond, FactsNote, Host, host_from_dict
from hypervisor.model import to_dict

FACTS = Path(__file__).parents[1] / "realdata" / "facts"
EXPECTED = json.loads((FACTS / "expected.json").read_text())
NO_HYPERVISOR = FactsNote("hypervisor", "neither `xl info` nor `virsh nodeinfo` answered")


def sample(name: str) -> str:
    return (FACTS / name).read_text()


def composed(sections: list[list[str]]) -> str:
    return "".join(f"@@{marker}\n{sample(name)}\n" for marker, name in sections)


def test_a_slave_with_link_outside_the_active_aggregator_carries_no_traffic_and_is_flagged():
    bond = parse_bonding("bond0", sample("bonding-insights-802.3ad-v3.2.4-two-aggregators.txt"))
    assert bond.outside_aggregator == ("eth2",)
    assert bond.degraded_slaves == ("eth2",)
    assert [bond.slave_problem(s) for s in bond.slaves] == ["", "not in active aggregator"]


def test_a_slave_down_in_another_aggregator_is_down():
    bond = parse_bonding("bond0", sample("bonding-blackmetalz-802.3ad-slave-down-no-partner.txt"))
    assert bond.degraded_slaves == ("enp1s0f0",)
    assert bond.slave_problem("enp1s0f0") == "down"
    assert bond.outside_aggregator == ()


def test_bridge_text_from_iproute2_4_7_to_4_16_loses_only_the_bridges():
    facts = parse_facts(composed(EXPECTED["facts-iproute2-4.7-to-4.16.txt"]["sections"]))
    why = "`bridge -j link` gave text; iproute2 older than 4.17? (/sys/class/net/*/brif: not listed)"
    assert facts.unknown == (FactsNote("bridges", why),)
    assert facts.bridges == ()
    assert [b.name for b in facts.bonds] == ["bond0"]
    assert len(facts.storage) == 3
    assert facts.node is not None
    assert facts.node.version == "Xen 4.19.1"
    assert facts.fallback == ()


def test_bridges_come_from_sysfs_when_bridge_json_is_missing():
    facts = parse_facts(sample("facts-script-debian12-netns-bridge-text.txt"))
    assert facts.fallback == (FactsNote(
        "bridges", "read from /sys/class/net/*/brif: `bridge -j link` gave text; iproute2 older than 4.17?"),)
    assert facts.unknown == (NO_HYPERVISOR,)


def test_without_ip_json_vlans_come_from_procfs_and_bridges_from_sysfs():
    facts = parse_facts(sample("facts-script-debian12-netns-no-ip-json.txt"))
    why = "`ip -j -d link` failed (exit 255); iproute2 older than 4.14?"
    assert facts.fallback == (FactsNote("links", f"read from /proc/net/vlan/config: {why}"),
                              FactsNote("bridges", f"read from /sys/class/net/*/brif: {why}"))
    assert ("xenbr0", ("eno1", "vif3.0")) in [(b.name, b.ports) for b in facts.bridges]


def test_vlans_from_procfs_when_ip_is_not_installed():
    output = (f"@@ip\n@@exit ip 127\n@@bridge\n@@exit bridge 127\n@@sysfs\nlo\neth0\n"
              f"@@vlan\n{sample('proc-net-vlan-config-rhel7-notes.txt')}")
    facts = parse_facts(output)
    assert [(v.name, v.vlan, v.parent) for v in facts.vlans] == [("ens224.305", 305, "ens224"),
                                                                 ("ens224.99", 99, "ens224")]
    why = "read from /proc/net/vlan/config: `ip` is not installed (exit 127)"
    assert facts.fallback[0] == FactsNote("links", why)
    assert facts.bridges == ()
    assert "bridges" not in [n.section for n in facts.unknown]


def test_a_bond_file_that_cannot_be_read_makes_only_the_bonds_unknown():
    output = "@@bond bond0\nEthernet Channel Bonding Driver: v3.7.1\n" + sample(
        "facts-script-debian12-netns-iproute2-6.1.txt")
    facts = parse_facts(output)
    assert facts.unknown == (FactsNote("bonds", "/proc/net/bonding/bond0 has no 'Bonding Mode' line"),
                             NO_HYPERVISOR)
    assert len(facts.bridges) == 3
    assert len(facts.storage) == 1


def unknown_storage(output: str) -> list[str]:
    return [n.text for n in parse_facts(output).unknown if n.section == "storage"]


def test_a_df_that_cannot_answer_is_unknown_storage_but_missing_image_folders_are_not():
    old = "df: unrecognized option '--output=target,size,avail'\nTry 'df --help' for more information.\n"
    assert unknown_storage(f"@@df\n{old}") == [
        "`df` gave no table: df: unrecognized option '--output=target,size,avail'"]
    assert unknown_storage("@@df\nsh: 1: df: not found\n") == ["`df` gave no table: sh: 1: df: not found"]
    assert unknown_storage("@@df\n") == ["`df` printed nothing"]
    missing = "@@df\ndf: /var/lib/xen/images: No such file or directory\n"
    assert unknown_storage(missing) == []
    assert parse_facts(missing).storage == ()


def test_what_could_not_be_read_survives_the_inventory():
    facts = parse_facts("@@bond bond0\n" + sample("bonding-insights-802.3ad-v3.2.4-two-aggregators.txt")
                        + "\n" + sample("facts-script-debian12-netns-no-ip-json.txt"))
    host = Host(name="dom0", uri="xen:///", driver="Xen", cpus=8, memory_mib=8192, facts=facts)
    again = host_from_dict(json.loads(json.dumps(to_dict(host))))
    assert again == host
    assert again.facts is not None
    assert again.facts.bonds[0].outside_aggregator == ("eth2",)


def test_a_bond_stored_before_aggregators_were_read_still_loads():
    facts = parse_facts("@@bond bond0\n" + sample("bonding-insights-balance-rr-v3.7.1.txt"))
    data = to_dict(Host(name="h", uri="xen:///", driver="Xen", cpus=1, memory_mib=1024, facts=facts))
    del data["facts"]["bonds"][0]["outside_aggregator"], data["facts"]["unknown"], data["facts"]["fallback"]
    facts = host_from_dict(data).facts
    assert facts is not None
    assert facts.bonds == (Bond("bond0", "balance-rr", ("eno1", "eno2"), ("eno1", "eno2")),)


def test_output_of_an_unexpected_shape_loses_only_its_section():
    xl = sample("xl-info-alpine-xen-4.19.1.txt").replace("total_memory           : 7933",
                                                          "total_memory : lots")
    ip = '[{"ifname": "eth0.7", "linkinfo": {"info_kind": "vlan", "info_data": {"id": "seven"}}}]'
    df = sample("df-B1-debian12-coreutils.txt")
    facts = parse_facts(f"@@ip\n{ip}\n@@exit ip 0\n@@vlan\n@@xl\n{xl}\n@@df\n{df}")
    assert facts.node is None
    assert facts.unknown[-1] == FactsNote(
        "hypervisor", "unexpected output (ValueError: invalid literal for int() with base 10: 'lots')")
    assert facts.fallback[0].section == "links"
    assert len(facts.storage) == 3
