"""Alerts survive a restart of the watcher: on the demo farm, with the state directory kept between two runs.

A "restart" here is what a new process does: a new engine over the same state directory and a new
watcher that reads what the last one remembered. Conditions that still hold keep their alert (no
second firing), those that ended meanwhile resolve on the first evaluation, acknowledgements stay,
and an old alert can still be acknowledged.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.engine import Engine
from bot.watch.alert_file import AlertFile, alerts_path
from bot.watch.model import Condition, Rules
from bot.watch.tracker import Tracker
from bot.watch.watcher import Watcher, WatchSettings
from bot.watch.words import console_line
from granja.app import open_engine
from granja.watching import build_watcher
from tests.watch.conftest import Clock, Seen

KEYS = {"stopped_outside:db1", "cluster_degraded:db", "cluster_degraded:ftp"}


def start(engine: Engine, clock: Clock, seen: Seen) -> Watcher:
    """A watcher as `granja slack` builds it, after its first look at every host."""
    watcher = build_watcher(engine, sinks=[seen], settings=WatchSettings(events=False), clock=clock,
                            remember="slack")
    watcher.poll(first=True)
    return watcher


@pytest.fixture
def restart(state) -> Iterator[Callable[[], Engine]]:
    """Opens the state directory again, as a new process would; closed at the end."""
    opened: list[Engine] = []

    def again() -> Engine:
        opened.append(open_engine(config=None, state=str(state)))
        return opened[-1]

    yield again
    for engine in opened:
        engine.close()


def fire(engine: Engine, clock: Clock) -> dict:
    """db1 stopped outside granja, which leaves cluster db short; ftp is short from the start."""
    watcher = start(engine, clock, Seen())
    engine.farm.driver("host02").lifecycle("db1", "destroy")
    watcher.poll()
    watcher.evaluate()
    clock.advance(3600)  # past every kind's `for`
    watcher.evaluate()
    alerts = {a.condition.key: a for a in watcher.tracker.alerts()}
    assert KEYS <= alerts.keys()
    acked = watcher.acknowledge(alerts["cluster_degraded:db"].id, by="<@UOPER>")
    assert acked is not None
    return {**alerts, acked.condition.key: acked}


def test_an_alert_that_still_holds_after_a_restart_keeps_its_alert_and_fires_nothing(engine, restart):
    clock = Clock()
    before = fire(engine, clock)
    clock.advance(120)  # the bot is down for two minutes
    seen = Seen()
    watcher = start(restart(), clock, seen)
    transitions = watcher.evaluate()
    assert [t for t in transitions if t.what != "recalled"] == []  # nothing fired, changed or resolved
    after = {a.condition.key: a for a in watcher.tracker.alerts()}
    for key in KEYS:  # the same alert: id, first seen, fired at, who acknowledged it
        assert after[key] == before[key]
    assert after["cluster_degraded:db"].acked_by == "<@UOPER>"
    # Every remembered alert is handed to the sinks once as "recalled" (a message lost in a crash is
    # posted then), and the next evaluations say nothing.
    assert {t.alert.id for t in seen.of("recalled")} == {a.id for a in before.values()}
    clock.advance(30)
    assert watcher.evaluate() == []


def test_a_condition_that_ended_while_stopped_resolves_its_old_alert_on_the_first_evaluation(engine, restart):
    clock = Clock()
    before = fire(engine, clock)
    clock.advance(120)
    engine_again = restart()
    engine_again.farm.driver("host02").lifecycle("db1", "start")  # while granja was not watching
    engine_again.farm.driver("host07").lifecycle("ftp2", "start")
    watcher = start(engine_again, clock, Seen())
    resolved = {t.alert.condition.key: t.alert for t in watcher.evaluate() if t.what == "resolved"}
    assert resolved.keys() == KEYS
    for key in KEYS:
        assert resolved[key].id == before[key].id
        assert resolved[key].resolved_at == clock.now
    assert resolved["cluster_degraded:ftp"].condition.cleared == "cluster ftp: enough members running"


def test_an_old_alert_can_be_acknowledged_after_a_restart(engine, restart):
    clock = Clock()
    before = fire(engine, clock)
    watcher = start(restart(), clock, Seen())
    watcher.evaluate()
    acked = watcher.acknowledge(before["stopped_outside:db1"].id, by="<@UVIEWER>")
    assert acked is not None
    assert acked.acked_by == "<@UVIEWER>"
    # ... and that acknowledgement survives the next restart too
    again = start(restart(), clock, Seen())
    assert {a.id: a.acked_by for a in again.tracker.alerts()}[acked.id] == "<@UVIEWER>"


@pytest.mark.parametrize("content", [b"{not json", b"", b'{"version": 1, "alerts": [{"id": 7}]}',
                                     b'["an", "array"]'])
def test_a_damaged_alert_file_starts_clean_with_one_log_line(engine, caplog, content):
    path = alerts_path(engine.inventory.directory, "slack")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    clock, seen = Clock(), Seen()
    with caplog.at_level(logging.WARNING):
        watcher = start(engine, clock, seen)
    (record,) = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert str(path) in record.getMessage()
    assert "starting without" in record.getMessage()
    assert path.with_name(path.name + ".bad").read_bytes() == content  # kept aside to look at
    watcher.evaluate()
    clock.advance(3600)
    watcher.evaluate()
    assert seen.of("fired", "cluster_degraded")  # it watches as on a first start
    assert AlertFile(path).load()  # ... and remembers again


def test_a_missing_alert_file_is_a_first_start(engine, caplog):
    with caplog.at_level(logging.WARNING):
        watcher = start(engine, Clock(), Seen())
    assert watcher.tracker.alerts() == []
    assert caplog.records == []


def condition(n: int) -> Condition:
    return Condition(key=f"drift:vm{n}", kind="drift", subject=f"vm{n}", message=f"vm{n} drifted",
                     cleared=f"vm{n} is back", since=0.0, vms=(f"vm{n}",))


def test_two_writers_at_once_never_leave_a_torn_file(tmp_path: Path):
    """Two trackers over one file (two threads, as two processes would) and a reader checking every copy."""
    path = tmp_path / "alerts.json"
    rules = Rules(flap_seconds=0.0)
    writers = [Tracker(rules, file=AlertFile(path)) for _ in range(2)]
    done = threading.Event()
    torn: list[str] = []

    def write(tracker: Tracker, offset: int) -> None:
        for n in range(60):  # each step fires or resolves alerts: a save each time
            now = float(n + 1)
            held = [condition(offset + i) for i in range(n % 7)]
            for transition in tracker.step(held, now):
                tracker.acknowledge(transition.alert.id, by="<@U1>", now=now)

    def read() -> None:
        while not done.is_set():
            try:
                raw = path.read_bytes()
            except FileNotFoundError:
                continue
            try:
                json.loads(raw)
            except ValueError as exc:
                torn.append(f"{exc}: {raw[:80]!r}")

    reader = threading.Thread(target=read)
    reader.start()
    threads = [threading.Thread(target=write, args=(t, 100 * i)) for i, t in enumerate(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    done.set()
    reader.join(timeout=60)
    assert torn == []
    last = {a.id for a in AlertFile(path).load()}
    assert last in ({a.id for a in t.alerts()} for t in writers)  # one writer's last state, whole
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_a_host_still_silent_after_a_restart_keeps_its_alert_and_its_words(engine, restart):
    clock = Clock()
    node = Path(engine.config.hosts["host09"].uri.removeprefix("test://"))
    node.rename(node.with_suffix(".away"))  # host09 stops answering
    watcher = start(engine, clock, Seen())
    watcher.evaluate()
    clock.advance(3600)
    (fired,) = [t.alert for t in watcher.evaluate() if t.alert.condition.kind == "host_unreachable"]
    clock.advance(600)  # restarted ten minutes later: "not answering since" must not move to now
    again = start(restart(), clock, Seen())
    (recalled,) = [t for t in again.evaluate() if t.alert.condition.kind == "host_unreachable"]
    assert recalled.what == "recalled"
    assert recalled.alert == fired


def silence(engine: Engine, host: str) -> Callable[[], None]:
    """The host stops answering (its test-driver node file moved away); the result brings it back."""
    node = Path(engine.config.hosts[host].uri.removeprefix("test://"))
    away = node.with_suffix(".away")
    node.rename(away)
    return lambda: away.rename(node)


HELD = {"stopped_outside:db1", "cluster_degraded:db"}  # about db1, on host02


def restart_with_host02_silent(engine: Engine, restart: Callable[[], Engine], clock: Clock
                               ) -> tuple[dict, Engine, Watcher, list, Callable[[], None]]:
    before = fire(engine, clock)
    clock.advance(120)
    again = restart()
    answer = silence(again, "host02")
    watcher = start(again, clock, Seen())
    return before, again, watcher, watcher.evaluate(), answer


def test_vm_alerts_on_a_host_silent_since_the_restart_stay_open_and_say_why(engine, restart):
    clock = Clock()
    before, _again, watcher, transitions, _answer = restart_with_host02_silent(engine, restart, clock)
    assert [t for t in transitions if t.what == "resolved"] == []  # db1's state is unknown, not fixed
    now = {a.condition.key: a for a in watcher.tracker.alerts()}
    for key in HELD:
        assert now[key].firing
        assert now[key].id == before[key].id
        said = console_line(next(t for t in transitions if t.alert.condition.key == key), clock.now)
        assert "host02 has not answered since granja started" in said
        assert before[key].condition.message in said  # what it said before, still there
    said = watcher.first_look(transitions)  # what `granja watch` / `granja slack` print at start
    assert "1 host not answering yet (host02): their VMs' alerts are held, not resolved" in said


def test_when_the_silent_host_answers_a_vm_alert_that_still_holds_gets_one_message(engine, restart):
    clock = Clock()
    before, _again, watcher, _transitions, answer = restart_with_host02_silent(engine, restart, clock)
    clock.advance(60)
    answer()
    watcher.poll()
    transitions = [t for t in watcher.evaluate() if t.alert.condition.key in HELD]
    assert sorted((t.alert.condition.key, t.what) for t in transitions) == [
        ("cluster_degraded:db", "changed"), ("stopped_outside:db1", "changed")]
    for transition in transitions:  # back to what it said before the restart, the same alert
        key = transition.alert.condition.key
        assert transition.alert.id == before[key].id
        assert console_line(transition, clock.now).split(": ", 1)[1].startswith(before[key].condition.message)
    clock.advance(3600)
    watcher.poll()
    assert [t for t in watcher.evaluate() if t.alert.condition.key in HELD] == []


def test_when_the_silent_host_answers_a_vm_alert_that_ended_resolves_once(engine, restart):
    clock = Clock()
    before, again, watcher, _transitions, answer = restart_with_host02_silent(engine, restart, clock)
    answer()
    again.farm.driver("host02").lifecycle("db1", "start")  # started by hand while granja could not see
    clock.advance(60)
    watcher.poll()
    transitions = [t for t in watcher.evaluate() if t.alert.condition.key in HELD]
    assert sorted((t.alert.condition.key, t.what) for t in transitions) == [
        ("cluster_degraded:db", "resolved"), ("stopped_outside:db1", "resolved")]
    resolved = {t.alert.condition.key: t for t in transitions}
    assert resolved["stopped_outside:db1"].alert.id == before["stopped_outside:db1"].id
    assert "resolved after" in console_line(resolved["stopped_outside:db1"], clock.now)
    assert "db1 is running again" in console_line(resolved["stopped_outside:db1"], clock.now)


def test_a_vm_alert_is_held_not_resolved_while_its_host_stops_answering(engine):
    clock, seen = Clock(), Seen()
    watcher = start(engine, clock, seen)
    engine.farm.driver("host02").lifecycle("db1", "destroy")
    watcher.poll()
    watcher.evaluate()
    clock.advance(3600)
    watcher.evaluate()
    answer = silence(engine, "host02")
    watcher.poll()
    clock.advance(10)
    transitions = [t for t in watcher.evaluate() if t.alert.condition.key == "stopped_outside:db1"]
    assert [t.what for t in transitions] == ["changed"]
    assert "host02 is not answering" in console_line(transitions[0], clock.now)
    answer()
    watcher.poll()
    transitions = [t for t in watcher.evaluate() if t.alert.condition.key == "stopped_outside:db1"]
    assert [t.what for t in transitions] == ["changed"]
    assert "not answering" not in console_line(transitions[0], clock.now)


def test_a_host_silent_across_a_restart_keeps_the_vms_its_alert_listed(engine, restart):
    clock = Clock()
    watcher = start(engine, clock, Seen())  # host09 answers at first: its VMs are known
    silence(engine, "host09")
    watcher.poll()
    watcher.evaluate()
    clock.advance(3600)
    (fired,) = [t.alert for t in watcher.evaluate() if t.alert.condition.kind == "host_unreachable"]
    assert fired.condition.message.endswith("; it ran 3 VMs: ci, imap3 and samba1")
    clock.advance(600)  # restarted while it is still silent: its VMs are not known, the alert's words stay
    again = start(restart(), clock, Seen())
    (recalled,) = [t for t in again.evaluate() if t.alert.condition.kind == "host_unreachable"]
    assert recalled.what == "recalled"
    assert recalled.alert == fired


def test_a_held_vm_alert_resolves_once_the_vm_runs_on_a_host_that_answers(engine):
    """What `recover host02` does: the VM is started elsewhere while its host is silent; that settles it."""
    clock, seen = Clock(), Seen()
    watcher = start(engine, clock, seen)
    farm = engine.farm
    xml = farm.driver("host02").domain_xml("db1")
    farm.driver("host02").lifecycle("db1", "destroy")
    watcher.poll()
    watcher.evaluate()
    clock.advance(3600)
    watcher.evaluate()
    silence(engine, "host02")
    watcher.poll()
    clock.advance(10)
    held = [t.what for t in watcher.evaluate() if t.alert.condition.key == "stopped_outside:db1"]
    assert held == ["changed"]
    farm.driver("host03").define(xml)
    farm.driver("host03").lifecycle("db1", "start")
    watcher.poll()
    clock.advance(10)
    transitions = [t for t in watcher.evaluate() if t.alert.condition.key in HELD]
    assert sorted((t.alert.condition.key, t.what) for t in transitions) == [
        ("cluster_degraded:db", "resolved"), ("stopped_outside:db1", "resolved")]
    resolved = {t.alert.condition.key: console_line(t, clock.now) for t in transitions}
    assert "db1 is running again" in resolved["stopped_outside:db1"]
    assert "cluster db: enough members running" in resolved["cluster_degraded:db"]
