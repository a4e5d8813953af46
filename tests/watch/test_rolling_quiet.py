"""granja's own rolling run does not page the channel; a cluster short for another reason still does.

Real concurrency: the rolling run goes on in a thread of its own while the test's thread polls
and evaluates the watcher. A member's start waits at a gate, so the watcher certainly looks
while that member is down for the run (and the test checks that it saw it down).
"""

from __future__ import annotations

import threading

from bot.results import Outcome, Reply
from hypervisor.libvirt_host import LibvirtHost
from hypervisor.model import VM, VMState
from tests.conftest import Chat
from tests.watch.conftest import Watched


class GatedStartHost(LibvirtHost):
    """A test-driver host whose starts wait until the test opens the gate (the run's member stays down)."""

    reached = threading.Event()
    gate = threading.Event()

    def lifecycle(self, name: str, action: str) -> VM:
        if action == "start":
            type(self).reached.set()
            assert type(self).gate.wait(60), "the test never opened the start gate"
        return super().lifecycle(name, action)


def gate_starts(watched: Watched, cluster: str) -> None:
    GatedStartHost.reached, GatedStartHost.gate = threading.Event(), threading.Event()
    farm = watched.engine.farm
    for host in {r.vm.host for r in watched.engine.inventory.vms_in(cluster)}:
        farm._drivers[host] = GatedStartHost(host, farm.driver(host).uri)


def run_in_thread(watched: Watched, text: str) -> tuple[threading.Thread, list[Reply], Chat]:
    chat, replies = Chat(watched.engine), []
    thread = threading.Thread(target=lambda: replies.append(chat.send(text)), daemon=True)
    thread.start()
    assert GatedStartHost.reached.wait(60), "the run never came to a start"
    return thread, replies, chat


def down_in_picture(watched: Watched, cluster: str) -> dict[str, str]:
    snap = watched.watcher.picture.snapshot()
    return {vm.name: seen.name for seen in snap.hosts.values() for vm in seen.vms.values()
            if vm.meta.cluster == cluster and vm.state is not VMState.RUNNING}


def degraded(watched: Watched) -> list[str]:
    return [t.alert.condition.message for t in watched.seen.of("fired", "cluster_degraded")]


def test_a_rolling_restart_is_no_cluster_alert_while_it_runs(watched):
    gate_starts(watched, "ldap")
    thread, replies, chat = run_in_thread(watched, "rolling restart ldap")
    try:
        watched.after(120)  # well past cluster_degraded's `for` (30 s), with a member down for the run
        down = down_in_picture(watched, "ldap")
        assert len(down) == 1, down  # the watcher did see the run's member shut off
        assert degraded(watched) == []
    finally:
        GatedStartHost.gate.set()
        thread.join(60)
    assert replies[0].outcome is Outcome.OK, chat.transcript
    watched.after(120)
    assert degraded(watched) == []
    assert watched.seen.of("fired", "stopped_outside") == []


def test_a_cluster_short_for_another_reason_during_a_run_is_still_degraded(watched):
    gate_starts(watched, "ldap")
    thread, replies, chat = run_in_thread(watched, "rolling restart ldap")
    try:
        watched.after(0)
        ((member, _host),) = down_in_picture(watched, "ldap").items()
        other = next(r.vm for r in watched.engine.inventory.vms_in("ldap") if r.name != member)
        watched.engine.farm.driver(other.host).lifecycle(other.name, "destroy")  # someone, by hand
        watched.after(31)
        assert degraded(watched) == [
            f"cluster ldap: 3 of 5 running; {other.name} is shut off on {other.host}; "
            f"{member} is down for granja's 'rolling restart ldap'"]
        # A member the run had not reached yet is not granja's: stopping it by hand is an alert too.
        stopped = [t.alert.condition.vms for t in watched.seen.of("fired", "stopped_outside")]
        assert stopped == [(other.name,)]
    finally:
        GatedStartHost.gate.set()
        thread.join(60)
    # The run itself sees the cluster short before its next member, and stops.
    assert replies[0].outcome is Outcome.FAILED, chat.transcript
    assert "only 4 members of ldap run now" in chat.transcript
