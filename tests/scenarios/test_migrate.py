"""Migration on the demo farm: the test driver cannot migrate live, so VMs move offline."""

from __future__ import annotations

import subprocess
import sys

from bot.engine import ChatEvent, Pending
from bot.results import Outcome
from granja.app import local_user
from tests.conftest import Chat


def other_host(chat, vm: str) -> str:
    """A host that runs no member of the VM's cluster (so the move is a sensible one)."""
    inventory = chat.engine.inventory
    cluster = inventory.vm(vm).vm.meta.cluster
    busy = {r.vm.host for r in inventory.vms_in(cluster)} if cluster else {inventory.vm(vm).vm.host}
    return next(h for h in chat.engine.farm.host_names if h not in busy)


def test_migrate_moves_the_vm_and_where_agrees_also_from_a_new_process(chat, state):
    source = chat.engine.inventory.vm("imap2").vm.host
    target = other_host(chat, "imap2")
    reply = chat.send(f"migrate imap2 to {target}")
    assert reply.outcome is Outcome.OK, chat.transcript
    assert f"About to: migrate imap2 {source} → {target}, offline" in chat.transcript
    assert f"imap2 moved from {source} to {target} (offline" in chat.transcript
    assert "now running on" in chat.transcript
    assert chat.engine.farm.driver(source).find_vm("imap2") is None
    chat.send("where is imap2")
    assert chat.transcript == f"imap2 is on {target} (running)."

    ask = subprocess.run(
        [sys.executable, "-m", "granja", "--state", str(state), "ask", "where is imap2"],
        capture_output=True, text=True, check=False, timeout=60,
    )
    assert ask.returncode == 0, ask.stderr
    assert ask.stdout.strip() == f"imap2 is on {target} (running)."


def test_a_move_is_recorded_in_the_history(chat):
    target = other_host(chat, "web1")
    source = chat.engine.inventory.vm("web1").vm.host
    chat.send(f"migrate web1 to {target}")
    change = chat.engine.inventory.changes(vm="web1", limit=5)[0]
    assert (change.kind, change.old, change.new) == ("placement", source, target)
    assert change.command == f"migrate web1 to {target}"
    assert change.user == chat.user


def test_new_process_migration_with_yes(state):
    def granja(*words: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "granja", "--state", str(state), *words],
                              capture_output=True, text=True, check=False, timeout=60)

    first = granja("ask", "where is smtp1")
    source = first.stdout.split(" is on ")[1].split()[0]
    target = "host07" if source != "host07" else "host08"
    moved = granja("ask", f"migrate smtp1 to {target}", "--yes")
    assert moved.returncode == 0, moved.stdout + moved.stderr
    assert granja("ask", "where is smtp1").stdout.strip() == f"smtp1 is on {target} (running)."


def test_shut_off_vm_moves_and_stays_off(chat):
    target = other_host(chat, "ci")
    reply = chat.send(f"migrate ci to {target}")
    assert reply.outcome is Outcome.OK
    assert "ci is shut off: its definition moves" in chat.transcript
    assert chat.engine.farm.driver(target).find_vm("ci").state.value == "shut off"


def test_migrate_refusals_leave_the_vm_where_it_was(chat):
    host = chat.engine.inventory.vm("ldap1").vm.host
    reply = chat.send(f"migrate ldap1 to {host}")
    assert reply.outcome is Outcome.REFUSED
    assert f"already on {host}" in chat.transcript
    chat.send("migrate ldap1 to host99")
    assert "No host named 'host99'. Did you mean" in chat.transcript
    reply = chat.send("migrate wiki to host01")
    assert reply.outcome is Outcome.REFUSED
    assert "resume wiki first" in chat.transcript
    reply = chat.send("migrate nosuch to host01")
    assert reply.outcome is Outcome.FAILED
    assert chat.engine.inventory.vm("ldap1").vm.host == host
    assert chat.engine.farm.driver(host).find_vm("ldap1").state.value == "running"


def test_a_front_end_that_cannot_show_progress_does_not_break_the_move(engine):
    # A console whose pipe closed, or a Slack status update that fails: the move still completes.
    source = engine.inventory.vm("imap2").vm.host
    target = other_host(Chat(engine), "imap2")
    pending = engine.prepare(ChatEvent(user=local_user(), text=f"migrate imap2 to {target}"))
    assert isinstance(pending, Pending)

    def broken_pipe(_line: str) -> None:
        raise BrokenPipeError(32, "Broken pipe")

    reply = engine.confirm(pending, by=local_user(), progress=broken_pipe)
    assert reply.outcome is Outcome.OK, reply.summary
    assert engine.farm.driver(target).find_vm("imap2") is not None
    assert engine.farm.driver(source).find_vm("imap2") is None
