"""Rolling runs on the demo farm: never more than allowed down, stopped by a failure, refused when unsafe."""

from __future__ import annotations

import getpass
import socket
import threading

import pytest

from bot import console
from bot.results import Outcome
from granja.app import open_engine
from granja.config import ConfigError
from hypervisor.errors import OperationFailed
from hypervisor.libvirt_host import LibvirtHost
from hypervisor.model import VM, VMState
from tests.farm_ops.helpers import live_vms


class StartFailsHost(LibvirtHost):
    """A test-driver host on which starting the named VMs fails, as a broken image would."""

    broken: frozenset[str] = frozenset()

    def lifecycle(self, name: str, action: str) -> VM:
        if action == "start" and name in self.broken:
            raise OperationFailed(self.name, f"start {name}", "internal error: the guest did not boot")
        return super().lifecycle(name, action)


class IgnoresShutdownHost(LibvirtHost):
    """A test-driver host whose named guests ignore the shutdown request, as a hung guest does."""

    broken: frozenset[str] = frozenset()

    def lifecycle(self, name: str, action: str) -> VM:
        if action == "shutdown" and name in self.broken:
            found = self.find_vm(name)
            assert found is not None
            return found
        return super().lifecycle(name, action)


class SampledChat:
    """A console chat that looks at the cluster live at every line the run prints: between its steps."""

    def __init__(self, engine, cluster: str) -> None:
        self.engine, self.cluster = engine, cluster
        self.samples: list[dict[str, str]] = []
        self.lines: list[str] = []
        self._lock = threading.Lock()

    def out(self, line: str) -> None:
        members = {vm.name: vm.state.value for vm in live_vms(self.engine).values()
                   if vm.meta.cluster == self.cluster}
        with self._lock:
            self.lines.append(line)
            self.samples.append(members)

    def send(self, text: str, *, yes: bool = True):
        self.lines, self.samples = [], []
        reply = console.run(self.engine, text, user=getpass.getuser(), yes=yes, ask=None, out=self.out)
        return reply, "\n".join(self.lines)


def set_min_running(state, cluster: str, count: int) -> None:
    config = state / "demo" / "farm.toml"
    text = config.read_text()
    header = f"[clusters.{cluster}]\n"
    assert header in text
    config.write_text(text.replace(header, f"{header}min_running = {count}\n", 1))


def running(sample: dict[str, str]) -> int:
    return sum(state == VMState.RUNNING.value for state in sample.values())


def test_a_rolling_restart_of_five_keeps_four_running_at_every_step(engine):
    chat = SampledChat(engine, "ldap")
    reply, text = chat.send("rolling restart ldap")
    assert reply.outcome is Outcome.OK, text
    assert "Rolling restart of ldap done: 5 done." in text
    assert min(running(s) for s in chat.samples) == 4  # each member was seen down, one at a time
    down = {name for s in chat.samples for name, state in s.items() if state != "running"}
    assert down == {f"ldap{n}" for n in range(1, 6)}
    assert all(running(s) >= 4 for s in chat.samples)
    assert running(chat.samples[-1]) == 5
    entries = engine.inventory.audit(limit=10)
    members = [e for e in entries if e.extra.get("part_of") == "rolling restart ldap"]
    assert sorted(e.vm for e in members) == [f"ldap{n}" for n in range(1, 6)]
    assert [e.command for e in entries if e.command == "rolling restart ldap"] == ["rolling restart ldap"]


def test_max_two_down_takes_two_at_once_where_min_running_allows(state):
    set_min_running(state, "imap", 6)
    engine = open_engine(config=None, state=str(state))
    chat = SampledChat(engine, "imap")
    reply, text = chat.send("rolling restart imap max 2 down")
    assert reply.outcome is Outcome.OK, text
    assert "2 members at a time" in text
    assert min(running(s) for s in chat.samples) >= 6
    assert "Rolling restart of imap done: 8 done" in text


def plant(engine, victim: str, host_class: type[LibvirtHost]) -> None:
    host = engine.inventory.vm(victim).vm.host
    planted = host_class(host, engine.farm.driver(host).uri)
    planted.broken = frozenset({victim})  # type: ignore[attr-defined]
    engine.farm._drivers[host] = planted


def test_a_failure_stops_the_run_and_leaves_the_failed_member_as_it_was(engine):
    members = sorted(r.name for r in engine.inventory.vms_in("ldap"))
    victim = members[2]
    plant(engine, victim, IgnoresShutdownHost)
    engine.farm.shutdown_timeout = 0.5
    before = live_vms(engine)
    chat = SampledChat(engine, "ldap")
    reply, text = chat.send("rolling restart ldap")
    assert reply.outcome is Outcome.FAILED
    assert "Rolling restart of ldap stopped at a failure: 2 done, 2 not tried." in text
    assert f"FAILED     {victim}: {victim} was asked to shut down but is still running after 0.5 s." in text
    assert f"{victim} is running on {before[victim].host}." in text
    assert f"not tried  {members[3]}, {members[4]}" in text
    now = live_vms(engine)
    assert now[victim].state is VMState.RUNNING  # as it was: up, on its host
    assert now[victim].host == before[victim].host
    assert all(running(s) >= 4 for s in chat.samples)
    failed = [e for e in engine.inventory.audit(limit=10) if e.vm == victim]
    assert failed[0].outcome == "failed"


def test_a_member_that_cannot_start_again_is_said_to_be_down_and_nothing_follows(engine):
    members = sorted(r.name for r in engine.inventory.vms_in("ldap"))
    victim, host = members[1], engine.inventory.vm(members[1]).vm.host
    plant(engine, victim, StartFailsHost)
    reply, text = SampledChat(engine, "ldap").send("rolling restart ldap")
    assert reply.outcome is Outcome.FAILED
    assert (f"FAILED     {victim}: start {victim} failed on {host}: internal error: the guest did not boot. "
            f"{victim} is shut off on {host}: starting it again failed too.") in text
    assert f"not tried  {', '.join(members[2:])}" in text
    now = live_vms(engine)
    assert [now[name].state for name in members[2:]] == [VMState.RUNNING] * 3


def test_more_down_than_min_running_allows_is_refused_before_anything_happens(state):
    set_min_running(state, "ldap", 4)
    engine = open_engine(config=None, state=str(state))
    before = live_vms(engine)
    chat = SampledChat(engine, "ldap")
    reply, text = chat.send("rolling reboot ldap max 2 down")
    assert reply.outcome is Outcome.REFUSED
    assert text == ("Not rolling ldap with 2 down: cluster ldap must keep 4 of its 5 members running "
                    "(min_running), and 5 run now, so at most 1 may be down at once. "
                    "Say 'rolling reboot ldap max 1 down'.")
    assert live_vms(engine) == before


def test_a_degraded_cluster_is_not_rolled(engine):
    member = engine.inventory.vms_in("db")[0].vm
    engine.farm.driver(member.host).lifecycle(member.name, "destroy")
    reply, text = SampledChat(engine, "db").send("rolling reboot db")
    assert reply.outcome is Outcome.REFUSED
    assert text.startswith("Not rolling db: cluster db must keep 1 of its 2 members running (no min_running "
                           "is set: one member at a time), and 1 run now, so none can be taken down.")


def test_a_rolling_migrate_moves_members_off_the_hosts_named_by_placement(engine):
    on = {r.name: r.vm.host for r in engine.inventory.vms_in("webmail")}
    off = sorted(set(on.values()))[:2]
    leaving = sorted(name for name, host in on.items() if host in off)
    reply, text = SampledChat(engine, "webmail").send(f"rolling migrate webmail off {off[0]} {off[1]}")
    assert reply.outcome is Outcome.OK, text
    now = live_vms(engine)
    for name in leaving:
        assert now[name].host not in off
        assert now[name].state is VMState.RUNNING
        assert f"done       {name}: moved from {on[name]} to {now[name].host}" in text
    hosts = [now[name].host for name in on]
    assert len(hosts) == len(set(hosts))  # the cluster stays spread


def set_health(state, cluster: str, health: str, timeout: float) -> None:
    config = state / "demo" / "farm.toml"
    header = f"[clusters.{cluster}]\n"
    config.write_text(config.read_text().replace(
        header, f'{header}health = "{health}"\nhealth_timeout = {timeout}\n', 1))


def test_each_member_must_answer_on_the_health_port_before_the_next_goes_down(state):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        port = listener.getsockname()[1]
        set_health(state, "db", f"tcp:127.0.0.1:{port}", 5)
        engine = open_engine(config=None, state=str(state))
        reply, text = SampledChat(engine, "db").send("rolling restart db")
    assert reply.outcome is Outcome.OK, text
    assert f"answer on TCP port {port} (127.0.0.1) within 5 s" in text
    assert text.count(f"answers on 127.0.0.1:{port}") == 2


def test_a_member_whose_health_port_stays_shut_stops_the_run_and_stays_up(state):
    with socket.socket() as closed:  # a port nobody listens on: bound, never listening
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        set_health(state, "db", f"tcp:127.0.0.1:{port}", 1)
        engine = open_engine(config=None, state=str(state))
        first = sorted(r.name for r in engine.inventory.vms_in("db"))[0]
        reply, text = SampledChat(engine, "db").send("rolling restart db")
    assert reply.outcome is Outcome.FAILED
    assert f"FAILED     {first}: {first} is running but port {port} did not answer on 127.0.0.1 within 1 s" \
        in text
    assert "not tried  db2" in text
    assert {vm.name: vm.state for vm in live_vms(engine).values() if vm.meta.cluster == "db"} == {
        "db1": VMState.RUNNING, "db2": VMState.RUNNING}


def test_a_health_check_that_is_not_one_is_a_config_error(state):
    set_health(state, "db", "http:993", 5)
    with pytest.raises(ConfigError, match=r"clusters\.db\.health: 'http:993' is not a health check: write "
                                          r"tcp:PORT or tcp:ADDRESS:PORT"):
        open_engine(config=None, state=str(state))


def test_min_running_of_every_member_still_lets_a_run_take_one_at_a_time_but_not_two(state):
    set_min_running(state, "ldap", 5)
    engine = open_engine(config=None, state=str(state))
    chat = SampledChat(engine, "ldap")
    reply, text = chat.send("rolling reboot ldap max 2 down")
    assert reply.outcome is Outcome.REFUSED
    assert text == ("Not rolling ldap with 2 down: cluster ldap must keep 4 of its 5 members running "
                    "(min_running keeps every member running: a rolling run takes one at a time), and 5 "
                    "run now, so at most 1 may be down at once. Say 'rolling reboot ldap max 1 down'.")
    reply, text = chat.send("rolling restart ldap")
    assert reply.outcome is Outcome.OK, text
    assert min(running(s) for s in chat.samples) == 4
