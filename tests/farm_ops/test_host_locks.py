"""Evacuate and recover hold every VM they move (and the host): no other operation runs on them meanwhile."""

from __future__ import annotations

from bot.engine import ChatEvent, Pending
from bot.results import Outcome, Reply
from bot.vmlocks import host_key
from tests.farm_ops.helpers import live_vms
from tests.farm_ops.test_evacuate import busiest_ldap_host


def moved_names(pending: Pending) -> list[str]:
    """The VMs an evacuation's preview says it will move, in order."""
    return [line.split()[1] for line in pending.plan.preview.splitlines()[1:] if line.startswith("  move ")]


def test_an_evacuation_is_refused_while_a_vm_it_would_move_is_being_migrated(engine):
    host = busiest_ldap_host(engine)
    pending = engine.prepare(ChatEvent(user="carol", text=f"evacuate {host}"))
    assert isinstance(pending, Pending), pending
    busy = moved_names(pending)[-1]
    assert engine.busy.hold(busy, who="<@UBOB>", what=f"migrate {busy}") is None  # bob's migration runs
    try:
        before = {name: vm.host for name, vm in live_vms(engine).items()}
        reply = engine.confirm(pending, by="carol")
        assert reply.outcome is Outcome.REFUSED, reply.summary
        assert f"{busy} is busy: <@UBOB> is running 'migrate {busy}'" in reply.summary
        assert reply.summary.startswith(f"Cannot evacuate {host} now: ")
        assert {name: vm.host for name, vm in live_vms(engine).items()} == before
        assert host not in engine.inventory.maintenance()
        again = engine.prepare(ChatEvent(user="carol", text=f"evacuate {host}"))
        assert isinstance(again, Reply)
        assert again.outcome is Outcome.REFUSED
        assert f"{busy} is busy" in again.summary
        audit = engine.inventory.audit(limit=1)[0]
        assert audit.outcome == "refused"
        assert host in audit.hosts
    finally:
        engine.busy.release(busy)


def test_a_command_on_a_vm_being_evacuated_is_refused_and_other_hosts_stay_usable(engine):
    host = busiest_ldap_host(engine)
    other = next(h for h in engine.farm.host_names if h != host)
    pending = engine.prepare(ChatEvent(user="carol", text=f"evacuate {host}"))
    assert isinstance(pending, Pending), pending
    last = moved_names(pending)[-1]
    during: list[Reply | Pending] = []

    def progress(message: str) -> None:
        if during:
            return
        during.append(engine.prepare(ChatEvent(user="bob", text=f"shutdown {last}")))
        during.append(engine.prepare(ChatEvent(user="bob", text=f"maintenance {host} off")))
        mark = engine.prepare(ChatEvent(user="bob", text=f"maintenance {other} on"))
        assert isinstance(mark, Pending), mark
        during.append(engine.confirm(mark, by="bob"))

    reply = engine.confirm(pending, by="carol", progress=progress)
    assert reply.outcome is Outcome.OK, reply.summary
    shutdown, off, on = during
    assert isinstance(shutdown, Reply)
    assert shutdown.outcome is Outcome.REFUSED
    assert f"{last} is busy: carol is running 'evacuate {host}'" in shutdown.summary
    assert isinstance(off, Reply)
    assert off.outcome is Outcome.REFUSED
    assert f"{host} is busy: carol is running 'evacuate {host}'" in off.summary
    assert isinstance(on, Reply)
    assert on.outcome is Outcome.OK, on.summary
    assert live_vms(engine)[last].host != host
    assert live_vms(engine)[last].state.value == "running"
    assert engine.busy.holder(last) is None
    assert engine.busy.holder(host_key(host)) is None
