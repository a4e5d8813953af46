"""`evacuate HOST`: every VM moved by the placement rules or listed with the reason it stays."""

from __future__ import annotations

import re

from bot.engine import ChatEvent, Pending
from bot.results import Outcome
from hypervisor.domain_build import build_domain
from tests.farm_ops.helpers import live_vms, spread_and_capacity_problems
from tests.inventory.builders import make_vm


def busiest_ldap_host(engine) -> str:
    hosts = [r.vm.host for r in engine.inventory.vms_in("ldap")]
    return max(hosts, key=lambda h: len(engine.inventory.vms_on(h)))


def test_evacuate_moves_everything_it_can_keeping_clusters_apart_and_hosts_in_capacity(chat):
    host = busiest_ldap_host(chat.engine)
    before = {r.name: r.vm for r in chat.engine.inventory.vms_on(host)}
    reply = chat.send(f"evacuate {host}")
    assert reply.outcome is Outcome.OK, chat.transcript
    assert chat.transcript.startswith(f"About to: evacuate {host}: mark it in maintenance")
    assert f"Evacuation of {host} done" in chat.transcript
    now = live_vms(chat.engine)
    stayed = {name for name in before if now[name].host == host}
    for name in stayed:  # only VMs the plan said must stay, each with its reason
        assert f"stays      {name}: " in chat.transcript
    assert {n for n, vm in before.items() if vm.state.value != "paused"} <= set(before) - stayed
    for name in set(before) - stayed:
        assert now[name].state == before[name].state
        assert f"{name} → {now[name].host}" in chat.transcript
    assert spread_and_capacity_problems(chat.engine) == []
    assert host in chat.engine.inventory.maintenance()
    assert "1/" in chat.transcript  # progress, one VM at a time


def test_an_impossible_evacuation_is_refused_and_moves_nothing(chat):
    host = busiest_ldap_host(chat.engine)
    inventory = chat.engine.inventory
    for other in chat.engine.farm.host_names:
        if other != host:
            inventory.set_maintenance(other, on=True, at=chat.engine.clock(), user="test")
    before = {name: vm.host for name, vm in live_vms(chat.engine).items()}
    reply = chat.send(f"evacuate {host}")
    assert reply.outcome is Outcome.REFUSED
    assert chat.transcript.startswith(f"Nothing can move off {host}:")
    for record in inventory.vms_on(host):
        assert f"stays {record.name}: " in chat.transcript
    assert "in maintenance" in chat.transcript
    assert {name: vm.host for name, vm in live_vms(chat.engine).items()} == before


def test_a_partly_possible_evacuation_moves_what_fits_and_lists_the_rest(chat):
    host = busiest_ldap_host(chat.engine)
    inventory = chat.engine.inventory
    ldap_hosts = {r.vm.host for r in inventory.vms_in("ldap")}
    open_host = next(h for h in sorted(ldap_hosts) if h != host)  # the one host left: it runs an ldap
    for other in chat.engine.farm.host_names:
        if other not in (host, open_host):
            inventory.set_maintenance(other, on=True, at=chat.engine.clock(), user="test")
    ldap_here = next(r.name for r in inventory.vms_in("ldap") if r.vm.host == host)
    reply = chat.send(f"evacuate {host}")
    assert reply.outcome is Outcome.OK, chat.transcript
    assert f"stays      {ldap_here}: no host fits {ldap_here}" in chat.transcript
    assert f"already running a member of ldap: {open_host}" in chat.transcript
    now = live_vms(chat.engine)
    assert now[ldap_here].host == host
    assert now[ldap_here].state.value == "running"


def test_a_failure_midway_stops_and_reports_what_moved_and_what_did_not(engine):
    host = busiest_ldap_host(engine)
    pending = engine.prepare(ChatEvent(user="carol", text=f"evacuate {host}"))
    assert isinstance(pending, Pending), pending
    second = pending.plan.preview.splitlines()[2].split(" → ")[1].split()[0]
    # Someone starts a big VM on the second move's target between the preview and the confirmation.
    hog = make_vm("hog", second, memory_mib=engine.farm.driver(second).describe().memory_mib)
    engine.farm.driver(second).define(build_domain(hog, domain_type="test"))
    engine.farm.driver(second).lifecycle("hog", "start")
    reply = engine.confirm(pending, by="carol")
    assert reply.outcome is Outcome.FAILED
    body = reply.body
    assert len(body.moved) == 1
    assert body.failed is not None
    failed = body.failed[0]
    assert "of memory free" in body.failed[1]
    assert f"{failed} is running on {host}" in body.failed[1]
    assert live_vms(engine)[failed].host == host
    assert len(body.not_tried) == len(pending.plan.preview.splitlines()) - 3 - len(body.stays)
    assert reply.summary.startswith(f"Evacuation of {host} stopped at a failure: 1 moved")


def test_a_vm_stopped_after_the_preview_moves_as_it_is_now(engine):
    host = busiest_ldap_host(engine)
    pending = engine.prepare(ChatEvent(user="carol", text=f"evacuate {host}"))
    assert isinstance(pending, Pending), pending
    name = pending.plan.preview.splitlines()[1].split()[1]
    engine.farm.driver(host).lifecycle(name, "destroy")
    reply = engine.confirm(pending, by="carol")
    assert reply.outcome is Outcome.OK, reply.summary
    moved = live_vms(engine)[name]
    assert moved.host != host
    assert moved.state.value == "shut off"


def test_a_pinned_vm_stays_and_the_plan_says_so(chat, pinned_host):
    reply = chat.send(f"evacuate {pinned_host}")
    assert reply.outcome is Outcome.OK, chat.transcript
    assert f"  stays backup: pinned to {pinned_host} in the fleet config" in chat.transcript  # preview
    assert f"stays      backup: pinned to {pinned_host} in the fleet config" in chat.transcript  # result
    assert live_vms(chat.engine)["backup"].host == pinned_host
    assert [name for name, vm in live_vms(chat.engine).items() if vm.host == pinned_host] == ["backup"]


def test_every_progress_line_of_an_evacuation_says_which_vm_of_how_many(engine):
    host = busiest_ldap_host(engine)
    pending = engine.prepare(ChatEvent(user="carol", text=f"evacuate {host}"))
    assert isinstance(pending, Pending), pending
    lines: list[str] = []
    reply = engine.confirm(pending, by="carol", progress=lines.append)
    assert reply.outcome is Outcome.OK, reply.summary
    total = len(reply.body.moved)
    assert total > 1
    assert len(lines) > total  # each move's own steps are shown too
    for line in lines:  # a live migration's "migrating, 37 MiB left" must still say whose
        assert re.match(rf"[1-9][0-9]*/{total}[: ]", line), line
