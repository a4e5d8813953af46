"""Alerts in words, the same for every front end: one console line, the Slack message's sentences."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime

from bot.watch.conditions import clock
from bot.watch.tracker import Alert, Transition
from hypervisor.words import listed, plural


def duration(seconds: float) -> str:
    """A span as people say it: 40 s, 4 min, 2 h 5 min."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = int(seconds // 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def headline(alert: Alert, now: float) -> str:
    """What the alert says now: the condition, or how it was resolved."""
    condition = alert.condition
    if not alert.firing:
        took = duration((alert.resolved_at or now) - alert.first_seen)
        return f"resolved after {took}: {condition.cleared}"
    flapped = f" (came back {alert.flaps} time{'s' * (alert.flaps != 1)})" if alert.flaps else ""
    unknown = f"; not known now: {condition.unknown}" if condition.unknown else ""
    return f"{condition.message}{flapped}{unknown}"


def since(alert: Alert) -> str:
    """Since when it holds: 'since 03:12 UTC'."""
    return f"since {clock(alert.first_seen)}"


def acknowledged(alert: Alert) -> str:
    """Who acknowledged it and when, or ''."""
    if not alert.acked_by or alert.acked_at is None:
        return ""
    return f"acknowledged by {alert.acked_by} at {clock(alert.acked_at)}"


def console_line(transition: Transition, now: float) -> str:
    """One line per transition for `granja watch`'s standard output."""
    alert = transition.alert
    stamp = f"{datetime.fromtimestamp(now, UTC):%Y-%m-%d %H:%M:%S} UTC"
    what = transition.what.upper()
    if transition.what == "acknowledged":
        return f"{stamp} {what} {alert.condition.kind} {alert.condition.subject}: {acknowledged(alert)}"
    remedy = f" [remedy: {alert.condition.remedy}]" if alert.firing and alert.condition.remedy else ""
    return (f"{stamp} {alert.severity.word.upper()} {what} {alert.condition.kind} {alert.condition.subject}: "
            f"{headline(alert, now)} ({since(alert)}){remedy}")


def first_look(hosts: int, alerts: list[Alert], remembered: Collection[str],
               transitions: list[Transition], unheard: Sequence[str] = ()) -> str:
    """What a starting watcher found: the alerts firing.

    After a restart, also how many of them it remembered and how many ended while it was not watching;
    and the hosts not answering yet, whose VMs' alerts are held until they do.
    """
    firing = [alert for alert in alerts if alert.firing]
    said = f"watching {plural(hosts, 'host')}: {plural(len(firing), 'alert')} firing"
    if remembered:
        kept = sum(alert.id in remembered for alert in firing)
        ended = sum(t.what == "resolved" and t.alert.id in remembered for t in transitions)
        said = f"{said} ({kept} from before the restart); {ended} resolved while granja was stopped"
    if unheard:
        said += (f"; {plural(len(unheard), 'host')} not answering yet ({listed(unheard)}): "
                 "their VMs' alerts are held, not resolved, until they answer")
    return said
