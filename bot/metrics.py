"""Prometheus metrics of the bot: the farm as the watcher sees it, alerts, commands, refreshes, site builds.

One `Metrics` per process, with a registry of its own. Counters and
histograms are fed as things happen (`command`, `refreshed`, `site_built`);
the farm's gauges are read from the watcher at scrape time, so a scrape
costs one pass over the watcher's picture and nothing when nobody scrapes.
`wsgi_app()` serves them at any mount point; `exposition()` gives the
text for a server that is not WSGI. Metric names: README, "Metrics".
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, make_wsgi_app
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from bot.watch.watcher import Watcher

if TYPE_CHECKING:
    from bot.engine import Engine

_FAST = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


class Metrics:
    """The bot's metrics; `watch(watcher)` adds the farm's gauges."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.commands = Counter("granja_commands", "Chat commands handled, by command and outcome.",
                                ["command", "outcome"], registry=self.registry)
        self.command_seconds = Histogram("granja_command_seconds", "Time to handle a chat command.",
                                         ["command", "outcome"], buckets=_FAST, registry=self.registry)
        self.refresh_seconds = Histogram("granja_refresh_seconds",
                                         "Time to read every host: the watcher's polls (source=poll), the "
                                         "refresh command (source=refresh).",
                                         ["source"], buckets=_FAST, registry=self.registry)
        self.site_build_seconds = Histogram("granja_site_build_seconds", "Time to build the inventory site.",
                                            buckets=_FAST, registry=self.registry)

    def command(self, name: str, outcome: str, seconds: float) -> None:
        """A chat command ended; a `refresh` that ran (not refused) is a refresh too (source="refresh")."""
        self.commands.labels(name, outcome).inc()
        self.command_seconds.labels(name, outcome).observe(seconds)
        if name == "refresh" and outcome in ("ok", "failed"):
            self.refresh_seconds.labels("refresh").observe(seconds)

    def follow(self, engine: Engine, watcher: Watcher) -> None:
        """Count the engine's commands and the watcher's polls, and report the farm as it sees it."""
        self.watch(watcher)
        engine.on_finish = self.command
        watcher.on_poll = self.refresh_seconds.labels("poll").observe

    def watch(self, watcher: Watcher) -> None:
        """Report the farm's state as the watcher sees it."""
        self.registry.register(_FarmCollector(watcher))

    def exposition(self) -> tuple[bytes, str]:
        """The metrics in Prometheus' text format, and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def wsgi_app(self) -> Callable[..., Any]:
        """A WSGI app serving the metrics (mount it at /metrics)."""
        return make_wsgi_app(self.registry)


class _FarmCollector(Collector):
    """Gauges read from the watcher at scrape time."""

    def __init__(self, watcher: Watcher) -> None:
        self.watcher = watcher

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """VM states, hosts reachable, cluster members, firing alerts."""
        snap = self.watcher.picture.snapshot()
        rules = self.watcher.rules
        vms = GaugeMetricFamily("granja_vms", "VMs by host, cluster and state.",
                                labels=["host", "cluster", "state"])
        reachable = GaugeMetricFamily("granja_host_reachable", "1 if the host answers, else 0.",
                                      labels=["host"])
        states: Tally[tuple[str, str, str]] = Tally()
        members: dict[str, set[str]] = {}
        running: dict[str, set[str]] = {}
        for seen in snap.hosts.values():
            reachable.add_metric([seen.name], 1.0 if seen.up else 0.0)
            for vm in seen.vms.values():
                rule = rules.cluster_of(vm.name, vm.meta.cluster)
                cluster = rule.name if rule else ""
                states[(seen.name, cluster, vm.state.value)] += 1
                if rule is not None:
                    members.setdefault(cluster, set()).add(vm.name)
                    if seen.up and vm.state.value == "running":
                        running.setdefault(cluster, set()).add(vm.name)
        for labels, count in sorted(states.items()):
            vms.add_metric(list(labels), count)
        yield vms
        yield reachable
        yield from self._clusters(members, running)
        yield self._alerts()

    def _clusters(self, members: dict[str, set[str]], running: dict[str, set[str]]
                  ) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("granja_cluster_members_running", "Cluster members running.",
                               labels=["cluster"])
        wanted = GaugeMetricFamily("granja_cluster_members_wanted",
                                   "Cluster members that should run (min_running, else all).",
                                   labels=["cluster"])
        for rule in self.watcher.rules.clusters:
            found = members.get(rule.name, set())
            up.add_metric([rule.name], len(running.get(rule.name, ())))
            wanted.add_metric([rule.name], rule.wanted(len(found)))
        yield up
        yield wanted

    def _alerts(self) -> GaugeMetricFamily:
        firing = GaugeMetricFamily("granja_alerts_firing", "Alerts firing, by kind and severity.",
                                   labels=["kind", "severity"])
        counts = Tally((a.condition.kind, a.severity.word) for a in self.watcher.tracker.alerts() if a.firing)
        for labels, count in sorted(counts.items()):
            firing.add_metric(list(labels), count)
        return firing
