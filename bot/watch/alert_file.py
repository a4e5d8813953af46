"""The tracker's alerts on disk, so that they survive a restart of the process that watches.

One file per kind of runner in the state directory (`watch/alerts-slack.json` for `granja
slack`, `watch/alerts-console.json` for `granja watch`: each posts or prints its own alerts, so
neither may take over the other's). It holds every alert still known — firing, or resolved
within the flap window — with its id, first-seen and firing times, acknowledgement and flaps.
Pending conditions are not kept: after a restart they wait their `for` time again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import msgspec

from bot.watch.model import KINDS
from bot.watch.tracker import Alert
from inventory.state_file import StateFile

log = logging.getLogger("granja.watch")
VERSION = 1


class _Document(msgspec.Struct):
    version: int
    alerts: list[Alert]


def alerts_path(directory: Path, runner: str) -> Path:
    """Where the alerts of a runner ("slack", "console") are kept in the state directory."""
    return directory / "watch" / f"alerts-{runner}.json"


class AlertFile:
    """Reads the alerts remembered at start, and replaces them whenever they change."""

    def __init__(self, path: Path) -> None:
        self._file = StateFile(path, _Document, what="remembered alerts")

    def load(self) -> list[Alert]:
        """The remembered alerts; none if there are none or they cannot be read (logged once)."""
        document = self._file.load()
        if document is None:
            return []
        if document.version != VERSION:
            log.warning("%s has version %s, not %s; starting without the remembered alerts",
                        self._file.path, document.version, VERSION)
            return []
        return [alert for alert in document.alerts if alert.condition.kind in KINDS]

    def save(self, alerts: Iterable[Alert]) -> None:
        """Replace the remembered alerts (atomically; a failure is logged, never raised)."""
        self._file.save(_Document(VERSION, list(alerts)))
