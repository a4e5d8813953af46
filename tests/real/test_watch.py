"""The watcher on real libvirt daemons: crashes, starts outside granja, a silent host, granja's own migration.

Alerts go to the alert channel of the Slack Web API stand-in; every wait is a
deadline on the stand-in's recorded calls, never a sleep.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest
from slack_sdk import WebClient

from bot.slack.alerts import SlackAlerts
from bot.watch.model import Severity
from bot.watch.watcher import Watcher, WatchSettings
from granja.watching import build_watcher
from hypervisor.event_hub import Keepalive
from tests.real.conftest import define_guest
from tests.slack.standin import SlackStandIn

ALERTS = "CALERTS"


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    slack = SlackStandIn()
    slack.thread.start()
    yield slack
    slack.shutdown()
    slack.server_close()


@pytest.fixture
def watching(real_engine, standin) -> Iterator[Watcher]:
    """A running watcher over the real hosts: keepalive 1 s × 2, host_unreachable after 1 s."""
    settings = WatchSettings(facts_interval=30.0, keepalive=Keepalive(1, 2), backoff=(0.2, 1.0))
    watcher = build_watcher(real_engine, settings=settings)
    watcher.rules = watcher.tracker.rules = replace(watcher.rules, hold={"host_unreachable": 1.0})
    watcher.sinks.append(SlackAlerts(WebClient(token="xoxb-test", base_url=standin.url), channel=ALERTS,
                                     min_severity=Severity.INFO, clock=time.time))
    watcher.start()
    deadline = time.monotonic() + 20
    while len(watcher.hub.connected()) < 3 and time.monotonic() < deadline:  # type: ignore[union-attr]
        time.sleep(0.05)
    assert len(watcher.hub.connected()) == 3  # type: ignore[union-attr]
    yield watcher
    watcher.stop()


def alert(standin: SlackStandIn, method: str, text: str, timeout: float = 15.0):
    return standin.wait_for(method, lambda c: c.body.get("channel") == ALERTS and text in c.text,
                            timeout=timeout)[-1]


def test_a_guest_whose_qemu_is_killed_is_a_crash_alert_within_5_s(hosts, real_engine, standin, watching):
    define_guest(hosts.hosts[0])
    watching.poll()
    pid = int((hosts.hosts[0].dir("run") / "libvirt" / "qemu" / "tiny.pid").read_text())
    killed = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    posted = alert(standin, "chat.postMessage", "tiny crashed on real1", timeout=5.0)
    assert posted.at - killed < 5.0
    assert posted.text.startswith("critical: tiny crashed on real1 at ")


def test_a_start_outside_granja_is_an_info_alert(hosts, real_engine, standin, watching):
    define_guest(hosts.hosts[1], start=False)
    watching.poll()
    subprocess.run(["virsh", "-c", hosts.hosts[1].tcp_uri, "start", "tiny"], capture_output=True, check=True)
    posted = alert(standin, "chat.postMessage", "tiny was started on real2")
    assert posted.text.startswith("info: tiny was started on real2 at ")
    assert posted.text.endswith(", not by granja")


def test_a_stopped_libvirtd_is_host_unreachable_then_resolved_in_the_same_message(hosts, real_engine, standin,
                                                                                 watching):
    real2 = hosts.hosts[1]
    pid = real2.libvirtd_pid()
    stopped = time.monotonic()
    os.kill(pid, signal.SIGSTOP)
    try:
        # keepalive: 1 s × 2 unanswered, about 3 s; then the condition's 1 s `for`
        posted = alert(standin, "chat.postMessage", "real2 is not answering", timeout=10.0)
        assert posted.at - stopped < 3 + 1 + 2
        assert "keepalive timed out" in posted.text
    finally:
        os.kill(pid, signal.SIGCONT)
    resolved = alert(standin, "chat.update", "real2 answers again", timeout=20.0)
    assert resolved.body["ts"] == posted.answer["ts"]
    assert resolved.text.startswith("resolved after ")


def test_a_migration_through_granja_fires_nothing(hosts, real_engine, standin, watching, real_chat):
    define_guest(hosts.hosts[0], start=False)
    real_chat.send("refresh")
    assert real_chat.send("start tiny").outcome.value == "ok", real_chat.transcript
    assert real_chat.send("migrate tiny to real2").outcome.value == "ok", real_chat.transcript
    # Wait until the watcher has heard the migration's events: tiny runs on real2 and is gone from real1.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        snap = watching.picture.snapshot()
        if "tiny" in snap.hosts["real2"].vms and "tiny" not in snap.hosts["real1"].vms:
            break
        time.sleep(0.05)
    assert snap.hosts["real2"].vms["tiny"].state.value == "running"
    # A change outside granja is a condition at once (it fires after its `for`): there is none.
    watching.evaluate()
    assert [c.message for c in watching.conditions if c.subject == "tiny"] == []
    assert [c.text for c in standin.of("chat.postMessage")] == []
