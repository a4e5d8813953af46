"""Where alert transitions go besides chat: a console (one line each) and the audit trail."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

from bot.watch.tracker import Transition
from bot.watch.words import console_line, headline
from inventory import AuditEntry

_AUDITED = {"fired": "alert fired", "acknowledged": "alert acknowledged", "resolved": "alert resolved",
            "reopened": "alert reopened"}


class ConsoleSink:
    """Prints one line per alert transition (`granja watch`)."""

    def __init__(self, out: Callable[[str], None], clock: Callable[[], float]) -> None:
        self._out, self._clock = out, clock
        self._lock = threading.Lock()

    def alert(self, transition: Transition) -> None:
        """Print the transition's line (not for an alert recalled after a restart that had ended before)."""
        if transition.what == "recalled" and not transition.alert.firing:
            return
        with self._lock:
            self._out(console_line(transition, self._clock()))


class AuditSink:
    """Records alerts fired, acknowledged, reopened and resolved in the audit trail, a burst in one write."""

    def __init__(self, record: Callable[[list[AuditEntry]], object], clock: Callable[[], float]) -> None:
        self._record, self._clock = record, clock

    def alert(self, transition: Transition) -> None:
        """One audit entry for a transition the audit keeps (not mere wording changes)."""
        self.alerts([transition])

    def alerts(self, transitions: list[Transition]) -> None:
        """Entries for many transitions, written at once."""
        entries = [entry for t in transitions if (entry := self._entry(t)) is not None]
        if entries:
            self._record(entries)

    def _entry(self, transition: Transition) -> AuditEntry | None:
        what = _AUDITED.get(transition.what)
        if what is None:
            return None
        alert, now = transition.alert, self._clock()
        condition = alert.condition
        return (AuditEntry(
            at=datetime.fromtimestamp(now, UTC), user=alert.acked_by if transition.what == "acknowledged"
            else "granja", channel="watch", text=f"{what}: {headline(alert, now)}", outcome="ok",
            vm=condition.vms[0] if len(condition.vms) == 1 else "", hosts=condition.hosts,
            detail=f"{condition.kind} {condition.subject}",
            extra={"alert": alert.id, "kind": condition.kind, "severity": alert.severity.word}))
