"""Putting the watcher together from the fleet config: rules, settings, own-operation test, drift, sinks."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Sequence

from bot.engine import Engine
from bot.watch.alert_file import AlertFile, alerts_path
from bot.watch.inventory_view import rules_of
from bot.watch.ours import OwnOperations
from bot.watch.sinks import AuditSink, ConsoleSink
from bot.watch.watcher import Sink, Watcher, WatchSettings
from granja.config import FleetConfig
from hypervisor.event_hub import Keepalive
from hypervisor.model import VM
from hypervisor.threads import wait_in_slices
from inventory import Inventory
from inventory.drift import diff_configs


def watch_settings(config: FleetConfig) -> WatchSettings:
    """How the watcher runs, from [watch]."""
    watch = config.watch
    return WatchSettings(facts_interval=watch.facts_interval,
                         keepalive=Keepalive(watch.keepalive_interval, watch.keepalive_count),
                         backoff=(1.0, watch.reconnect_max))


def drift_of(inventory: Inventory) -> Callable[[VM], list[str]]:
    """A VM's differences from its baseline, by field path (none without a baseline)."""
    def drift(vm: VM) -> list[str]:
        baseline = inventory.baseline(vm.name)
        return [] if baseline is None else [d.path for d in diff_configs(baseline.config, vm.config())]
    return drift


def build_watcher(engine: Engine, *, sinks: Sequence[Sink] = (), settings: WatchSettings | None = None,
                  clock: Callable[[], float] = time.time, remember: str = "") -> Watcher:
    """A watcher over the engine's farm; alerts are audited and handed to `sinks`.

    `remember` names the runner ("slack", "console") whose alerts are kept in the state directory
    across restarts; empty, they are not kept.
    """
    config, inventory = engine.config, engine.inventory
    settings = settings or watch_settings(config)
    ours = OwnOperations(engine.journal, poll_seconds=settings.facts_interval)
    file = AlertFile(alerts_path(inventory.directory, remember)) if remember else None
    rules = rules_of(config, maintenance=lambda: inventory.maintenance().keys())
    return Watcher(farm=engine.farm, uris={h.name: h.uri for h in config.hosts.values()},
                   rules=rules, ours=ours.did, drift=drift_of(inventory),
                   sinks=[AuditSink(inventory.record_audits, clock), *sinks], settings=settings, clock=clock,
                   file=file, busy=ours.busy)


def run_watch(engine: Engine, *, out: Callable[[str], None] = print,
              stop: threading.Event | None = None) -> int:
    """`granja watch`: watch until interrupted (Ctrl-C, SIGTERM), one line per alert on standard output."""
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, lambda _signum, _frame: stop.set())
    console = ConsoleSink(lambda line: out(line), time.time)
    watcher = build_watcher(engine, sinks=[console], remember="console")
    watcher.on_started = lambda found: out(f"granja watch: {found}")
    hosts = len(engine.farm.host_names)
    out(f"granja watch: {engine.config.name}, {hosts} hosts; alerts follow, one per line")
    try:
        watcher.start()  # a signal during start (its first poll already prints alerts) is seen after it
        wait_in_slices(stop)
    finally:
        watcher.stop()
    return 0
