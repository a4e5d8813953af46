"""The watcher at scale and on real hosts: idle cost over 1,000 hosts, a burst of events, alert latency.

- watch_idle: a watcher over 1,000 test-driver hosts (20,000 VMs): threads, RSS and CPU per idle minute,
  as ratios to the same process before the watcher started.
- watch_burst: 1,000 lifecycle events (every VM of 50 hosts destroyed at once) until the watcher holds
  1,000 conditions: the time, and whether any event was lost.
- watch_latency: on real libvirtd hosts, a `virsh destroy` outside granja to the alert's chat.postMessage
  at the Slack stand-in, measured from the libvirt event's arrival; `for` set to 0, so it is all overhead.
"""

from __future__ import annotations

import resource
import statistics
import subprocess
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import libvirt

from benchmarks.core import report
from bot.engine import Engine
from bot.watch.watcher import Watcher, WatchSettings
from granja.app import build_farm
from granja.config import load_config
from granja.demo import generate_farm
from granja.watching import build_watcher
from hypervisor.event_hub import EventHub
from inventory import Inventory


def _rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _engine(root: Path, hosts: int, vms: int) -> Engine:
    config = load_config(generate_farm(root / "farm", hosts=hosts, vms=vms))
    return Engine(config=config, farm=build_farm(config), inventory=Inventory(root / "state"))


def watch_idle(seconds: float = 60.0, settle: float = 40.0) -> None:
    """Threads, RSS and CPU of an idle watcher over 1,000 hosts, against the process before it."""
    with tempfile.TemporaryDirectory() as tmp:
        engine = _engine(Path(tmp), 1000, 20000)
        threads0, rss0 = threading.active_count(), _rss_mib()
        begun = time.perf_counter()
        watcher = build_watcher(engine, settings=WatchSettings(facts_interval=3600.0))
        watcher.start()
        assert watcher.hub is not None
        while len(watcher.hub.connected()) < 1000:
            time.sleep(0.1)
        started = time.perf_counter() - begun
        time.sleep(settle)  # the first evaluations (20,000 VMs' drift) and alerts are start-up, not idle
        cpu0, wall0 = _cpu(), time.perf_counter()
        time.sleep(seconds)  # idle on purpose: the figure is what doing nothing costs
        per_minute = (_cpu() - cpu0) / (time.perf_counter() - wall0) * 60
        threads, rss = threading.active_count(), _rss_mib()
        poll0, cpu1 = time.perf_counter(), _cpu()
        watcher.poll()
        poll, poll_cpu = time.perf_counter() - poll0, _cpu() - cpu1
        watcher.stop()
    report("watch 1,000 hosts: threads", f"{threads} ({threads / threads0:.1f}x of {threads0} before)",
           "bounded, not per host")
    report("watch 1,000 hosts: RSS", f"{rss:.0f} MiB ({rss / rss0:.2f}x of {rss0:.0f} MiB)", "-")
    report("watch 1,000 hosts: idle CPU", f"{per_minute:.2f} CPU-s per minute", "< 3 CPU-s/min")
    report("watch 1,000 hosts: start, one poll", f"{started:.1f} s, poll {poll:.1f} s ({poll_cpu:.1f} CPU-s)",
           "-")


def watch_burst(hosts: int = 60, per_host: int = 20, events: int = 1000) -> None:
    """1,000 lifecycle events at once: how long until the watcher holds a condition for each, none lost.

    Run twice: alerts in memory only, then kept in the state directory as `granja slack` keeps them
    (every change of the alerts written to disk); the second as a ratio to the first.
    """
    memory = _burst(hosts, per_host, events, remember="")
    kept = _burst(hosts, per_host, events, remember="slack")
    for said, (count, conditions_at, alerts_at, lost) in (("", memory), (", alerts kept on disk", kept)):
        report(f"watch burst of {count} lifecycle events{said}",
               f"conditions {conditions_at:.2f} s, alerts {alerts_at:.2f} s, {lost} lost",
               "< 10 s, none lost")
    report("watch burst: alerts kept on disk vs in memory", f"{kept[2] / memory[2]:.2f}x the time to alert",
           "-")


def _burst(hosts: int, per_host: int, events: int, *, remember: str) -> tuple[int, float, float, int]:
    """Events sent, seconds until every condition was held and every alert handed out, alerts lost."""
    with tempfile.TemporaryDirectory() as tmp:
        engine = _engine(Path(tmp), hosts, hosts * per_host)
        watcher = build_watcher(engine, settings=WatchSettings(events=False, facts_interval=3600.0),
                                remember=remember)
        watcher.rules = watcher.tracker.rules = replace(watcher.rules, hold={"stopped_outside": 0.0})
        heard = [0]
        alerted: list[str] = []
        watcher.sinks.append(_Counting(alerted))  # after the audit: an alert counts once it is recorded

        def domain(host: str, vm: str, state: object, cause: str) -> None:
            heard[0] += 1
            watcher._domain(host, vm, state, cause)  # type: ignore[arg-type]

        # Writable connections of our own: a test-driver URI's changes are seen only by that connection.
        hub = EventHub({h.name: h.uri for h in engine.config.hosts.values()}, on_domain=domain,
                       on_host=watcher._host, timeout=30.0, read_only=False)
        watcher.hub = hub
        watcher.start()
        while len(hub.connected()) < hosts:
            time.sleep(0.05)
        running = [(link.conn, dom) for link in hub._links.values()
                   for dom in link.conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE)][:events]
        begun = time.perf_counter()
        for _conn, dom in running:
            dom.destroy()
        conditions_at = alerts_at = None
        deadline = begun + 120
        while time.perf_counter() < deadline and alerts_at is None:
            held = sum(c.kind == "stopped_outside" for c in watcher.conditions)
            if conditions_at is None and held >= len(running):
                conditions_at = time.perf_counter() - begun
            if len(alerted) >= len(running):
                alerts_at = time.perf_counter() - begun
            time.sleep(0.01)
        watcher.stop()
    lost = len(running) - len(set(alerted))
    return len(running), conditions_at or float("nan"), alerts_at or float("nan"), lost


class _Counting:
    """A sink that notes every alert fired."""

    def __init__(self, seen: list[str]) -> None:
        self.seen = seen

    def alert(self, transition: object) -> None:
        if getattr(transition, "what", "") == "fired":
            self.seen.append(transition.alert.condition.key)  # type: ignore[attr-defined]


def watch_latency(runs: int = 15) -> None:
    """Real hosts: libvirt event to the alert's chat.postMessage at the stand-in, `for` 0: p50, p95."""
    from slack_sdk import WebClient

    from bot.slack.alerts import SlackAlerts
    from bot.watch.model import Severity
    from granja.app import open_engine
    from hypervisor.event_hub import Keepalive
    from tests.real.conftest import define_guest, fleet_toml
    from tests.real.hosts import start_farm
    from tests.slack.standin import SlackStandIn

    offset = time.time() - time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        farm = start_farm(Path(tmp) / "hosts", count=3)
        slack = SlackStandIn()
        slack.thread.start()
        watcher: Watcher | None = None
        try:
            (Path(tmp) / "farm.toml").write_text(fleet_toml(farm))
            engine = open_engine(config=str(Path(tmp) / "farm.toml"), state=str(Path(tmp) / "state"))
            settings = WatchSettings(facts_interval=600, keepalive=Keepalive(2, 3))
            watcher = build_watcher(engine, settings=settings)
            watcher.rules = watcher.tracker.rules = replace(
                watcher.rules, hold={"stopped_outside": 0.0}, flap_seconds=0.0)
            watcher.sinks.append(SlackAlerts(WebClient(token="x", base_url=slack.url), channel="CALERTS",
                                             min_severity=Severity.WARNING, clock=time.time))
            watcher.start()
            define_guest(farm.hosts[0], start=False)
            uri = farm.hosts[0].tcp_uri
            latencies = []
            for run in range(runs):
                subprocess.run(["virsh", "-c", uri, "start", "tiny"], capture_output=True, check=True)
                subprocess.run(["virsh", "-c", uri, "destroy", "tiny"], capture_output=True, check=True)
                posted = slack.wait_for("chat.postMessage", lambda c: "tiny stopped" in c.text, count=run + 1,
                                        timeout=30)[-1]
                change = watcher.picture.snapshot().changes[("tiny", farm.hosts[0].name)]
                latencies.append(posted.at + offset - change.at)
        finally:
            if watcher is not None:
                watcher.stop()
            slack.shutdown()
            slack.server_close()
            farm.stop()
    latencies.sort()
    p50, p95 = statistics.median(latencies), latencies[int(len(latencies) * 0.95) - 1]
    report("watch: event to alert, real hosts", f"p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms "
           f"({p95 / 2:.2f}x of the 2 s target)", "p95 < 2 s beyond `for`")


