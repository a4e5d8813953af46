"""`check` names every bond slave that carries no traffic, and why (down, or outside the aggregator)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from bot.results import Outcome
from hypervisor.facts_script import parse_facts
from inventory.health import findings

FACTS = Path(__file__).parents[1] / "realdata" / "facts"


def test_check_names_the_demo_farms_lost_management_link(chat):
    reply = chat.send("check")
    assert reply.outcome is Outcome.OK
    assert ("bond", "host07") in {(f.kind, f.subject) for f in reply.body.findings}
    assert "host07: bond1 (active-backup) carries no traffic on eth3 (down)" in chat.transcript
    healthy = {f.subject for f in reply.body.findings if f.kind == "bond"}
    assert "host01" not in healthy


def test_a_slave_outside_the_active_aggregator_is_a_finding(engine):
    inventory = engine.inventory
    output = "@@bond bond0\n" + (FACTS / "bonding-insights-802.3ad-v3.2.4-two-aggregators.txt").read_text()
    hosts = [replace(r.host, facts=parse_facts(output)) if r.name == "host01" else r.host
             for r in inventory.hosts()]
    inventory.record_refresh(hosts=hosts, vms=[r.vm for r in inventory.vms()], unreachable={},
                             at=engine.clock(), duration_s=0.1)
    found = [f.message for f in findings(inventory) if f.kind == "bond" and f.subject == "host01"]
    assert found == ["host01: bond0 (802.3ad) carries no traffic on eth2 (not in active aggregator)"]
