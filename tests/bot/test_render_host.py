"""`host HOST` shows what its facts could not read, and which bond slaves carry no traffic and why."""

from __future__ import annotations

from pathlib import Path

from bot.render_text import render
from bot.results import HostCard, HostLoad, Outcome, Reply
from hypervisor.facts_script import parse_facts
from hypervisor.host_model import Host

FACTS = Path(__file__).parents[1] / "realdata" / "facts"


def card(output: str) -> str:
    host = Host(name="dom0", uri="xen:///", driver="Xen", cpus=8, memory_mib=8192, facts=parse_facts(output))
    load = HostLoad(host=host, vms=0, running=0, vcpus_used=0, memory_used_mib=0)
    return render(Reply(Outcome.OK, HostCard(load=load, vms=()), "host dom0"))


def test_a_bond_names_slaves_down_and_slaves_outside_the_active_aggregator():
    text = card("".join(f"@@bond {name}\n{(FACTS / file).read_text()}\n" for name, file in [
        ("bond0", "bonding-insights-802.3ad-v3.2.4-two-aggregators.txt"),
        ("bond1", "bonding-insights-802.3ad-v3.7.1-slave-down.txt"),
        ("bond2", "bonding-insights-balance-rr-v3.7.1.txt")]))
    assert "  bond bond0 (802.3ad): eth1, eth2  NOT IN ACTIVE AGGREGATOR: eth2\n" in text
    assert "  bond bond1 (802.3ad): enp0s9, enp0s8  DOWN: enp0s8\n" in text
    assert "  bond bond2 (balance-rr): eno1, eno2\n" in text


def test_a_section_that_could_not_be_read_is_shown_unknown_and_a_fallback_is_said():
    bridge_text = (FACTS / "bridge-link-plaintext.txt").read_text()
    text = card(f"@@ip\n[]\n@@bridge\n{bridge_text}\n@@df\nsh: 1: df: not found\n")
    assert ("  bridges unknown: `bridge -j link` gave text; iproute2 older than 4.17? "
            "(/sys/class/net/*/brif: not listed)\n") in text
    assert "  storage unknown: `df` gave no table: sh: 1: df: not found\n" in text
    assert "  hypervisor unknown: neither `xl info` nor `virsh nodeinfo` answered\n" in text
    fallback = card((FACTS / "facts-script-debian12-netns-no-ip-json.txt").read_text())
    assert ("  links read from /proc/net/vlan/config: `ip -j -d link` failed (exit 255); "
            "iproute2 older than 4.14?\n") in fallback
    assert "  bridge xenbr0: eno1, vif3.0\n" in fallback
