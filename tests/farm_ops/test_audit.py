"""The audit of farm operations: 'audit VM' finds the evacuation that moved it; refusals name the host."""

from __future__ import annotations

from bot.results import Outcome
from tests.farm_ops.helpers import live_vms
from tests.farm_ops.test_evacuate import busiest_ldap_host


def test_audit_of_a_vm_shows_the_evacuation_that_moved_it(chat):
    host = busiest_ldap_host(chat.engine)
    before = {r.name for r in chat.engine.inventory.vms_on(host)}
    reply = chat.send(f"evacuate {host}")
    assert reply.outcome is Outcome.OK, chat.transcript
    moved = sorted(name for name, vm in live_vms(chat.engine).items() if name in before and vm.host != host)
    assert moved
    entry = chat.engine.inventory.audit(limit=1)[0]
    assert entry.command == f"evacuate {host}"
    assert entry.hosts[0] == host
    for name in moved:
        assert [e.id for e in chat.engine.inventory.audit(vm=name, limit=5)] == [entry.id]
    stayed = sorted(before - set(moved))
    for name in stayed:
        assert chat.engine.inventory.audit(vm=name, limit=5) == []


def test_refused_host_commands_record_the_host(chat):
    chat.send("recover host02")
    assert chat.engine.inventory.audit(limit=1)[0].hosts == ("host02",)
    host = busiest_ldap_host(chat.engine)
    for other in chat.engine.farm.host_names:
        if other != host:
            chat.engine.inventory.set_maintenance(other, on=True, at=chat.engine.clock(), user="test")
    reply = chat.send(f"evacuate {host}")
    assert reply.outcome is Outcome.REFUSED
    assert chat.engine.inventory.audit(limit=1)[0].hosts == (host,)
