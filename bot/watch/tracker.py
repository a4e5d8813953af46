"""Conditions over time: pending until their `for` time has passed, then one alert each until resolved.

As in Prometheus' alerting rules, a condition must hold for its kind's
`for` time before it fires, so a reboot or a migration in progress pages
nobody. A condition that comes back within `flap_seconds` of resolving
reopens its old alert (same message, a flap count) instead of firing again:
a flapping host fires once. An alert about a host that is not answering (or
has not answered since the start) is held, not resolved, when its condition
is no longer seen: what the host would say is not known (`conditions.
unknown_while_silent` decides). The clock is injected; nothing here sleeps.

Given a file (`alert_file.AlertFile`), the tracker starts from the alerts it
remembers and writes them back, under its lock, whenever they change: after a
restart a condition that still holds keeps its alert, one that ended meanwhile
resolves at the first step, and an acknowledgement stays. That first step also
hands every remembered alert out once as "recalled", so that a sink can make
what it shows match (a message lost to a crash is posted then).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Protocol

from bot.watch.model import Condition, Rules, Severity


@dataclass(frozen=True)
class Alert:
    """A fired condition: what it says now, since when, who acknowledged it, and how it ended."""

    id: str
    condition: Condition
    first_seen: float
    fired_at: float
    resolved_at: float | None = None
    acked_by: str = ""
    acked_at: float | None = None
    flaps: int = 0  # times it resolved and came back within the flap window

    @property
    def severity(self) -> Severity:
        """The condition's severity."""
        return self.condition.severity

    @property
    def firing(self) -> bool:
        """Whether it still holds."""
        return self.resolved_at is None


@dataclass(frozen=True)
class Transition:
    """What happened to an alert in one step: fired, changed, resolved, reopened or acknowledged.

    "recalled" is no change: a remembered alert handed out once after a restart.
    """

    what: str
    alert: Alert


class AlertStore(Protocol):
    """Where the alerts are kept across restarts."""

    def load(self) -> list[Alert]:
        """The alerts remembered (none on a first start)."""
        ...

    def save(self, alerts: Iterable[Alert]) -> None:
        """Replace the alerts remembered."""
        ...


class Tracker:
    """Pending conditions and alerts by key; `step` is called with each evaluation's conditions."""

    def __init__(self, rules: Rules, file: AlertStore | None = None) -> None:
        self.rules = rules
        self._file = file
        self._pending: dict[str, float] = {}  # key -> when first seen
        # key -> its alert (firing or recently resolved)
        self._alerts: dict[str, Alert] = {a.condition.key: a for a in (file.load() if file else ())}
        self._by_id: dict[str, str] = {alert.id: key for key, alert in self._alerts.items()}
        self._recall = set(self._alerts)  # remembered: handed out once, at the first step
        self.remembered = frozenset(self._by_id)
        """The ids of the alerts remembered from before a restart."""
        self._lock = threading.Lock()

    def step(self, conditions: Iterable[Condition], now: float,
             unknown: Callable[[Condition], str] | None = None) -> list[Transition]:
        """Advance to `now` with the conditions that hold; returns what changed.

        `unknown` says why a condition no longer among `conditions` may still hold ("host02 is
        not answering since 03:12 UTC"; '' if it is over): its alert stays firing, saying why
        (`Condition.unknown`), instead of resolving.
        """
        out: list[Transition] = []
        with self._lock:
            current = {c.key: c for c in conditions}
            for key in [k for k in self._pending if k not in current]:
                del self._pending[key]
            for key, condition in current.items():
                out += self._holds(key, condition, now)
            forgot = False
            for key, alert in list(self._alerts.items()):
                gone = alert.firing and key not in current
                why = unknown(alert.condition) if gone and unknown is not None else ""
                if why:
                    if alert.condition.unknown != why:
                        self._alerts[key] = replace(alert, condition=replace(alert.condition, unknown=why))
                        out.append(Transition("changed", self._alerts[key]))
                elif gone:
                    seen_last = replace(alert.condition, unknown="")
                    self._alerts[key] = replace(alert, condition=seen_last, resolved_at=now)
                    out.append(Transition("resolved", self._alerts[key]))
                elif not alert.firing and now - (alert.resolved_at or now) > self.rules.flap_seconds:
                    del self._alerts[key]
                    self._by_id.pop(alert.id, None)
                    forgot = True
            if out or forgot:
                self._save()
            if self._recall:
                moved = {t.alert.condition.key for t in out}
                kept = sorted((self._alerts[k] for k in self._recall if k in self._alerts and k not in moved),
                              key=lambda alert: (-alert.severity, alert.condition.key))  # worst first
                out += [Transition("recalled", alert) for alert in kept]
                self._recall.clear()
        return out

    def _holds(self, key: str, condition: Condition, now: float) -> list[Transition]:
        alert = self._alerts.get(key)
        if alert is not None and alert.firing:
            if (alert.condition.message, alert.condition.unknown) != (condition.message, condition.unknown):
                self._alerts[key] = replace(alert, condition=condition)
                return [Transition("changed", self._alerts[key])]
            return []
        if alert is not None:  # resolved a short while ago: back again, the same alert
            self._alerts[key] = replace(alert, condition=condition, resolved_at=None, flaps=alert.flaps + 1)
            return [Transition("reopened", self._alerts[key])]
        first = min(self._pending.setdefault(key, now), condition.since)
        if now - first < self.rules.hold_for(condition.kind):
            return []
        del self._pending[key]
        fired = Alert(id=secrets.token_hex(4), condition=condition, first_seen=first, fired_at=now)
        self._alerts[key] = fired
        self._by_id[fired.id] = key
        return [Transition("fired", fired)]

    def acknowledge(self, alert_id: str, *, by: str, now: float) -> Alert | None:
        """Record who acknowledged an alert; None if no such alert is known (any more)."""
        with self._lock:
            key = self._by_id.get(alert_id)
            if key is None:
                return None
            alert = self._alerts[key] = replace(self._alerts[key], acked_by=by, acked_at=now)
            self._save()
            return alert

    def _save(self) -> None:
        """Write the alerts to the file, if any (called with the lock held: one writer at a time)."""
        if self._file is not None:
            self._file.save(self._alerts.values())

    def alerts(self) -> list[Alert]:
        """Every alert still known, firing or recently resolved."""
        with self._lock:
            return list(self._alerts.values())

    def next_due(self, now: float) -> float | None:
        """When the earliest pending condition would fire, if it keeps holding (for the watcher's wait)."""
        with self._lock:
            dues = [first + self.rules.hold_for(key.split(":", 1)[0]) for key, first in self._pending.items()]
        return min(dues) if dues else None
