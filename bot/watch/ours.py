"""Telling granja's own operations from changes made outside it: the one place that decides.

Every confirmed change granja runs is written to the operation journal
(inventory/journal.py) before its first step, with the VMs it names, and
settled when it ends. A change is granja's if the journal holds an operation
on that VM that was running when the change happened, or settled shortly
before or after it (`Journal.involved`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.watch.picture import Change
from inventory.journal import Journal


class OwnOperations:
    """Whether granja itself made a change, from its operation journal."""

    def __init__(self, journal: Journal) -> None:
        self._journal = journal

    def did(self, change: Change) -> bool:
        """True if granja's operation made this change (so it is no alert)."""
        at = datetime.fromtimestamp(change.at, UTC)
        return self._journal.involved(change.vm, now=at) is not None
