"""Telling granja's own operations from changes made outside it: the one place that decides.

Until the operation journal lands, an operation is known by the VM (or
host) lock files it holds while it runs (bot/vmlocks.py) and by its audit
entry, written when it ends. A change is granja's if the VM or one of its
hosts is held now, or if a changing command on the VM was recorded after
the change began (less a small grace for clocks). Swap `did` for a journal
look-up and nothing else changes.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.parser import ParseError, parse
from bot.vmlocks import Busy, host_key
from bot.watch.picture import Change
from inventory import AuditEntry

GRACE_SECONDS = 5.0
_DID_NOTHING = frozenset({"refused", "cancelled", "usage"})


class OwnOperations:
    """Whether granja itself made a change, from its locks and its audit."""

    def __init__(self, busy: Busy, audit: Callable[[str], list[AuditEntry]]) -> None:
        self._busy = busy
        self._audit = audit  # VM name -> its newest audit entries

    def did(self, change: Change) -> bool:
        """True if granja's operation made this change (so it is no alert)."""
        held = [change.vm, host_key(change.host)] + ([host_key(change.origin)] if change.origin else [])
        if any(self._busy.holder(name) is not None for name in held):
            return True
        return any(_changing(entry) and entry.at.timestamp() >= change.at - GRACE_SECONDS
                   for entry in self._audit(change.vm))


def _changing(entry: AuditEntry) -> bool:
    if entry.outcome in _DID_NOTHING or not entry.command:
        return False
    try:
        return parse(entry.command).spec.changes
    except ParseError:
        return False
