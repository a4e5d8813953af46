"""One health finding: what `check`, the watcher and the site's overview say needs attention.

Kept apart from `inventory.health` (which computes findings and imports placement, resilience
and drift) so that answering a read-only question does not import the health checks.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    """One thing that needs attention: its kind, what it is about (a host, VM or cluster), and why."""

    kind: str
    subject: str
    message: str
    severity: str = "warning"  # info, warning or critical
