"""A confirmation re-checks what its preview promised, under the locks of the VM and of its target host."""

from __future__ import annotations

import threading

import pytest

from bot.engine import ChatEvent, Engine, Pending
from bot.results import Outcome, Reply
from bot.vmlocks import host_key
from granja.app import open_engine
from tests.farm_ops.helpers import live_vms, spread_and_capacity_problems

# Two changes whose previews, made one after the other, both choose the same host (host09 in the demo).
PAIRS = [("migrate ldap1", "migrate ldap2"), ("create ldap6", "create ldap7")]


def preview(engine: Engine, text: str, user: str = "root") -> Pending:
    pending = engine.prepare(ChatEvent(user=user, text=text))
    assert isinstance(pending, Pending), pending
    return pending


def target_of(pending: Pending) -> str:
    """The host a migrate or create preview puts its VM on."""
    return pending.plan.hosts[-1]


def where(engine: Engine, name: str) -> str | None:
    vm = live_vms(engine).get(name)
    return vm.host if vm else None


@pytest.mark.parametrize("order", ["first-first", "second-first"])
@pytest.mark.parametrize("pair", PAIRS, ids=["migrate", "create"])
def test_two_previews_on_one_host_cannot_both_put_a_cluster_member_there(engine, pair, order):
    first, second = (preview(engine, text) for text in pair)
    host = target_of(first)
    assert target_of(second) == host  # both previews chose the same host
    if order == "second-first":
        first, second = second, first
    late_vm = second.plan.vm
    was = where(engine, late_vm)
    assert engine.confirm(first, by="root").outcome is Outcome.OK
    reply = engine.confirm(second, by="root")
    assert reply.outcome is Outcome.REFUSED, reply.summary
    early_vm = first.plan.vm
    assert reply.summary.startswith(f"Nothing was done: since the preview, {host} already runs {early_vm} "
                                    "of cluster ldap.")
    verb = second.command.name
    assert f"Say '{second.command.canonical()}' again to let granja choose (" in reply.summary
    assert f"'{verb} {late_vm}" in reply.summary
    assert f"{host} force'" in reply.summary
    assert where(engine, late_vm) == was  # not moved, not created
    assert spread_and_capacity_problems(engine) == []
    audit = engine.inventory.audit(limit=1)[0]
    assert (audit.outcome, audit.command, audit.detail) == ("refused", second.command.canonical(),
                                                            reply.summary)


@pytest.mark.parametrize("text", ["migrate ldap1", "create ldap6", "migrate web1 to host12"])
def test_a_preview_made_before_maintenance_does_not_land_on_the_host(engine, text):
    change = preview(engine, text)
    host = target_of(change)
    mark = preview(engine, f"maintenance {host} on", user="carol")
    assert engine.confirm(mark, by="carol").outcome is Outcome.OK
    vm = change.plan.vm
    was = where(engine, vm)
    reply = engine.confirm(change, by="root")
    assert reply.outcome is Outcome.REFUSED, reply.summary
    assert reply.summary.startswith(f"Nothing was done: since the preview, {host} is in maintenance.")
    assert f"{host} force'" in reply.summary  # the force form applies to maintenance
    assert where(engine, vm) == was
    assert not any(r.vm.host == host and r.name == vm for r in engine.inventory.vms_on(host))


def test_two_previews_cannot_overcommit_a_host(state):
    engine = open_engine(config=None, state=str(state))
    inventory = engine.inventory
    host = "host12"
    movers = [r.vm for r in inventory.vms() if r.vm.host != host and r.vm.state.value == "running"
              and not r.vm.meta.cluster and r.name != "backup"][:2]
    assert len(movers) == 2
    record = inventory.host(host)
    used = sum(r.vm.memory_mib for r in inventory.vms_on(host) if r.vm.state.active)
    # Room for either VM on host12, not for both.
    ratio = (used + sum(vm.memory_mib for vm in movers) - 1) / record.host.memory_mib
    config = state / "demo" / "farm.toml"
    config.write_text(config.read_text().replace("workers = 32", f"workers = 32\nmemory_ratio = {ratio}", 1))
    engine = open_engine(config=None, state=str(state))
    one, two = (preview(engine, f"migrate {vm.name} to {host}") for vm in movers)
    assert engine.confirm(two, by="root").outcome is Outcome.OK
    reply = engine.confirm(one, by="root")
    assert reply.outcome is Outcome.REFUSED, reply.summary
    assert reply.summary.startswith(f"Nothing was done: since the preview, {host} has ")
    assert f"of memory free and {movers[0].name} needs " in reply.summary
    assert f"'migrate {movers[0].name} to {host} force'" in reply.summary
    assert where(engine, movers[0].name) == movers[0].host


def test_a_vm_shut_down_or_moved_since_the_preview_is_not_migrated(engine):
    stale = preview(engine, "migrate ldap1")
    assert engine.confirm(preview(engine, "shutdown ldap1"), by="root").outcome is Outcome.OK
    reply = engine.confirm(stale, by="root")
    assert reply.outcome is Outcome.REFUSED, reply.summary
    assert reply.summary.startswith("Nothing was done: since the preview, ldap1 is shut off "
                                    "(it was running).")
    assert "Say 'migrate ldap1' again for a new preview." in reply.summary
    source = stale.plan.hosts[0]
    assert where(engine, "ldap1") == source
    stale = preview(engine, "migrate ldap1")
    elsewhere = preview(engine, "migrate ldap1 to host11")
    assert engine.confirm(elsewhere, by="root").outcome is Outcome.OK
    reply = engine.confirm(stale, by="root")
    assert reply.outcome is Outcome.REFUSED, reply.summary
    assert reply.summary.startswith(f"Nothing was done: since the preview, ldap1 moved from {source} to "
                                    "host11.")
    assert where(engine, "ldap1") == "host11"


def test_an_evacuation_rechecks_its_targets_at_confirmation(engine):
    evacuation = preview(engine, "evacuate host05")
    targets = sorted({line.rsplit("→ ", 1)[1].split()[0]
                      for line in evacuation.plan.preview.splitlines() if line.startswith("  move ")})
    assert engine.confirm(preview(engine, f"maintenance {targets[0]} on"), by="root").outcome is Outcome.OK
    before = {name: vm.host for name, vm in live_vms(engine).items()}
    reply = engine.confirm(evacuation, by="root")
    assert reply.outcome is Outcome.REFUSED, reply.summary
    assert reply.summary.startswith(f"Nothing was done: since the preview, {targets[0]} is in maintenance")
    assert "Say 'evacuate host05' again for a new plan." in reply.summary
    assert {name: vm.host for name, vm in live_vms(engine).items()} == before
    assert "host05" not in engine.inventory.maintenance()


def test_maintenance_and_evacuate_wait_for_a_migration_into_the_host(engine, state):
    """Another process (its own engine, its own lock files) cannot mark or empty host09 mid-migration."""
    other = open_engine(config=None, state=str(state))
    during: list[Reply | Pending] = []

    def progress(line: str) -> None:
        if not during:
            during.append(other.prepare(ChatEvent(user="carol", text="evacuate host09")))
            mark = other.prepare(ChatEvent(user="carol", text="maintenance host09 on"))
            during.append(other.confirm(mark, by="carol") if isinstance(mark, Pending) else mark)

    migration = preview(engine, "migrate ldap1")
    assert target_of(migration) == "host09"
    reply = engine.confirm(migration, by="root", progress=progress)
    assert reply.outcome is Outcome.OK, reply.summary
    for refusal in during:
        assert isinstance(refusal, Reply)
        assert refusal.outcome is Outcome.REFUSED, refusal.summary
        assert "host09 is busy: root is running 'migrate ldap1'" in refusal.summary
    assert "host09" not in engine.inventory.maintenance()
    assert engine.busy.holder(host_key("host09")) is None


def test_an_evacuation_holds_its_target_hosts_while_it_runs(engine):
    evacuation = preview(engine, "evacuate host05")
    target = next(line.rsplit("→ ", 1)[1].split()[0]
                  for line in evacuation.plan.preview.splitlines() if line.startswith("  move "))
    during: list[Reply | Pending] = []

    def progress(line: str) -> None:
        if not during:
            during.append(engine.prepare(ChatEvent(user="bob", text=f"maintenance {target} on")))

    assert engine.confirm(evacuation, by="root", progress=progress).outcome is Outcome.OK
    (refusal,) = during
    assert isinstance(refusal, Reply)
    assert refusal.outcome is Outcome.REFUSED
    assert f"{target} is busy: root is running 'evacuate host05'" in refusal.summary


@pytest.mark.parametrize("pair", PAIRS, ids=["migrate", "create"])
def test_two_threads_confirming_at_once_cannot_share_a_host(engine, pair):
    """The first confirmation is still running when the second one comes: it is refused, not run."""
    first, second = (preview(engine, text) for text in pair)
    assert target_of(first) == target_of(second)
    host = target_of(first)
    second_done = threading.Event()
    replies: dict[str, Reply] = {}

    def progress(line: str) -> None:  # the first change, mid-way: let the second one try now
        if not second_done.is_set():
            runner.start()
            assert second_done.wait(60), "the second confirmation did not return"

    def confirm_second() -> None:
        replies["second"] = engine.confirm(second, by="carol")
        second_done.set()

    runner = threading.Thread(target=confirm_second)
    replies["first"] = engine.confirm(first, by="root", progress=progress)
    runner.join(60)
    assert replies["first"].outcome is Outcome.OK, replies["first"].summary
    assert replies["second"].outcome is Outcome.REFUSED, replies["second"].summary
    assert f"{host} is busy: root is running '{first.command.canonical()}'" in replies["second"].summary
    assert spread_and_capacity_problems(engine) == []
    assert where(engine, second.plan.vm) != host
