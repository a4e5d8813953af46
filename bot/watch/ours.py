"""Telling granja's own operations from changes made outside it: the one place that decides.

Every confirmed change granja runs is written to the operation journal
(inventory/journal.py) before its first step, with the VMs it names, and
settled when it ends. A change is granja's if the journal holds an operation
on that VM that had begun when the change was seen and was still running, or
had settled no longer ago than the change can take to be seen: a few seconds
for a libvirt event, a poll interval for a change only a poll found. Anything
later was done by someone else, even minutes after granja touched the VM.
The same journal says which VMs an operation has in hand now (`busy`): a
cluster member down for a rolling run is not missing while the run goes on.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.watch.picture import Change
from inventory.journal import Journal

EVENT_SECONDS = 10.0  # at most this long from a libvirt event to the watcher, on a loaded host


class OwnOperations:
    """Whether granja itself made a change, from its operation journal."""

    def __init__(self, journal: Journal, *, poll_seconds: float) -> None:
        self._journal = journal
        self._poll = timedelta(seconds=poll_seconds + EVENT_SECONDS)
        self._event = timedelta(seconds=EVENT_SECONDS)

    def did(self, change: Change) -> bool:
        """True if granja's operation made this change (so it is no alert)."""
        at = datetime.fromtimestamp(change.at, UTC)
        seen_late = self._poll if change.cause == "seen" else self._event  # "seen": found by a poll
        return self._journal.involved(change.vm, now=at, within=seen_late) is not None

    def busy(self, vm: str, at: float) -> str:
        """The command of granja's operation that has `vm` in hand at `at`, or "" (conditions.Busy).

        One still carried out by a live process, or settled no longer ago than an event takes to
        arrive (the member it started again may not be seen running yet); not one whose process
        died (it is reported and settled when granja starts again).
        """
        operation = self._journal.involved(vm, now=datetime.fromtimestamp(at, UTC), within=self._event)
        if operation is None or (operation.open and not self._journal.carried_out(operation)):
            return ""
        return operation.command
