"""`migrate VM` picks a host and says why; `migrate VM to HOST` wants 'force' to break a rule."""

from __future__ import annotations

from bot.results import Outcome
from granja.app import open_engine
from tests.conftest import Chat
from tests.farm_ops.helpers import host_with_cluster_member, live_vms


def test_migrate_without_a_target_chooses_a_host_without_a_cluster_member_and_explains(chat):
    source = chat.engine.inventory.vm("ldap1").vm.host
    others = {r.vm.host for r in chat.engine.inventory.vms_in("ldap") if r.name != "ldap1"}
    reply = chat.send("migrate ldap1")
    assert reply.outcome is Outcome.OK, chat.transcript
    target = live_vms(chat.engine)["ldap1"].host
    assert target != source
    assert target not in others
    assert f"Chosen: {target} has " in chat.transcript
    assert "no other member of cluster ldap is there" in chat.transcript
    assert f"ruled out {len(others)} hosts already running a member of ldap" in chat.transcript


def test_migrate_next_to_a_cluster_member_is_refused_with_the_force_command(chat):
    crowded = host_with_cluster_member(chat.engine, "ldap", besides="ldap1")
    source = chat.engine.inventory.vm("ldap1").vm.host
    reply = chat.send(f"migrate ldap1 to {crowded}")
    assert reply.outcome is Outcome.REFUSED
    assert f"of cluster ldap. To move it anyway, say 'migrate ldap1 to {crowded} force'" in chat.transcript
    assert live_vms(chat.engine)["ldap1"].host == source
    reply = chat.send(f"migrate ldap1 to {crowded} force")
    assert reply.outcome is Outcome.OK, chat.transcript
    assert f"FORCED although {crowded} already runs" in chat.transcript
    assert live_vms(chat.engine)["ldap1"].host == crowded
    assert chat.engine.inventory.audit(limit=1)[0].command == f"migrate ldap1 to {crowded} force"


def test_migrate_that_would_overcommit_memory_needs_force(state):
    config = state / "demo" / "farm.toml"
    config.write_text(config.read_text().replace("workers = 32", "workers = 32\nmemory_ratio = 0.25", 1))
    chat = Chat(open_engine(config=None, state=str(state)))
    inventory = chat.engine.inventory
    vm = inventory.vm("db1").vm
    full = next(h for h in inventory.hosts() if h.name != vm.host
                and sum(r.vm.memory_mib for r in inventory.vms_on(h.name) if r.vm.state.active)
                + vm.memory_mib > h.host.memory_mib * 0.25
                and not any(r.vm.meta.cluster == "db" for r in inventory.vms_on(h.name))).name
    reply = chat.send(f"migrate db1 to {full}")
    assert reply.outcome is Outcome.REFUSED
    assert f"{full} has " in chat.transcript
    assert "of memory free and db1 needs 16 GiB" in chat.transcript
    assert f"'migrate db1 to {full} force'" in chat.transcript
    assert chat.send(f"migrate db1 to {full} force").outcome is Outcome.OK
    assert live_vms(chat.engine)["db1"].host == full


def test_maintenance_keeps_placements_off_and_survives_a_new_engine(chat, state):
    reply = chat.send("maintenance host07 on")
    assert reply.outcome is Outcome.OK
    assert "host07 is now in maintenance" in chat.transcript
    again = Chat(open_engine(config=None, state=str(state)))  # a new process's view: a fresh inventory
    again.send("refresh")  # what the hosts say does not clear granja's own mark
    again.send("hosts")
    assert next(line for line in again.transcript.splitlines() if line.startswith("host07")).endswith(
        "maintenance")
    again.send("maintenance host07 on")
    assert again.transcript.startswith("host07 is already in maintenance since ")
    mover = next(r.name for r in again.engine.inventory.vms() if r.vm.host != "host07"
                 and r.vm.state.value == "running" and not r.vm.meta.cluster
                 and r.name not in again.engine.config.pinned)
    reply = again.send(f"migrate {mover}")
    assert reply.outcome is Outcome.OK
    assert "in maintenance: host07" in again.transcript
    assert live_vms(again.engine)[mover].host != "host07"
    reply = again.send(f"migrate {mover} to host07")
    assert reply.outcome is Outcome.REFUSED
    assert "host07 is in maintenance" in again.transcript
    assert again.send("maintenance host07 off").outcome is Outcome.OK
    assert "host07" not in again.engine.inventory.maintenance()


def test_migrate_without_a_target_when_no_host_fits_says_why(chat):
    for host in chat.engine.farm.host_names:
        chat.engine.inventory.set_maintenance(host, on=True, at=chat.engine.clock(), user="test")
    reply = chat.send("migrate ldap1")
    assert reply.outcome is Outcome.REFUSED
    assert chat.transcript.startswith("No host can take ldap1 now: ruled out 14 hosts in maintenance: ")


def test_migrate_and_evacuate_refuse_vms_whose_disks_only_their_host_reaches(state):
    # Neither a live nor an offline move copies disks: a VM on storage only its host reaches stays.
    config = state / "demo" / "farm.toml"
    config.write_text(config.read_text().replace('shared_pools = ["local"]', "shared_pools = []"))
    chat = Chat(open_engine(config=None, state=str(state)))
    ldap1 = chat.engine.inventory.vm("ldap1").vm
    other = next(h for h in chat.engine.farm.host_names if h != ldap1.host)
    disk = ldap1.disks[0]
    why = (f"its disk {disk.target} ({disk.source}) is in pool local, which is not shared: only "
           f"{ldap1.host} reaches it")
    for command in (f"migrate ldap1 to {other}", "migrate ldap1", f"migrate ldap1 to {other} force"):
        reply = chat.send(command)
        assert reply.outcome is Outcome.REFUSED, chat.transcript
        assert chat.transcript == (f"Not moving ldap1: {why}. If pool local is the same storage on "
                                   "every host, name it in farm.shared_pools.")
    reply = chat.send(f"evacuate {ldap1.host}")
    assert reply.outcome is Outcome.REFUSED, chat.transcript
    assert f"  stays ldap1: {why}" in chat.transcript
    assert live_vms(chat.engine)["ldap1"].host == ldap1.host
