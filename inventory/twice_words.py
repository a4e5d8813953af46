"""How a VM running on several hosts at once is said: one sentence for every view and the watcher.

Kept apart from inventory.health (which needs the placement model) so that `where` and the
refresh reply can say it without loading that.
"""

from __future__ import annotations

from collections.abc import Iterable

from inventory.natural import natural_key


def running_twice_message(vm: str, hosts: Iterable[str]) -> str:
    """A VM running on several hosts at once (split brain), with the `repair … keep` that settles it."""
    where = sorted(set(hosts), key=natural_key)
    keeps = " or ".join(f"'repair {vm} keep {host}'" for host in where)
    count = "TWO" if len(where) == 2 else str(len(where))
    return (f"{vm} RUNS ON {count} HOSTS, {' AND '.join(where)}, at once: its disks are being written "
            f"twice; stop one now: say {keeps} to power off and undefine the other copies "
            "(disks are not touched)")
