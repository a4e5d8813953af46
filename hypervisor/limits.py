"""How far a host may be committed: the fleet config sets it, placement works to it.

A module of its own so that the config can hold it without loading placement.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hypervisor.placement import Room


@dataclass(frozen=True)
class Limits:
    """How far a host may be committed: vCPUs per core and memory per MiB of RAM."""

    cpu_ratio: float = 4.0
    memory_ratio: float = 1.0

    def memory_mib(self, room: Room) -> int:
        """How much memory running VMs may take on a host."""
        return int(room.memory_mib * self.memory_ratio)

    def vcpus(self, room: Room) -> int:
        """How many vCPUs running VMs may have on a host."""
        return int(room.cpus * self.cpu_ratio)
