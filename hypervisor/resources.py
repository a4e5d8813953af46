"""Whether a VM may have more vCPUs, memory or a new home: host capacity and template limits, checked first.

Every check raises InsufficientCapacity with the numbers and a way out, before
anything is changed. Choosing a host for a new VM is placement's job
(`hypervisor/placement.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hypervisor.errors import InsufficientCapacity
from hypervisor.model import gib


@dataclass(frozen=True)
class Room:
    """One host's capacity and what its running VMs take of it."""

    host: str
    cpus: int
    memory_mib: int
    used_memory_mib: int
    clusters: frozenset[str] = frozenset()  # clusters with a member on this host

    @property
    def free_memory_mib(self) -> int:
        """Memory not given to running VMs."""
        return self.memory_mib - self.used_memory_mib


@dataclass(frozen=True)
class Limits:
    """What a template allows its members: the most vCPUs and memory (0 means no template)."""

    template: str = ""
    vcpus: int = 0
    memory_mib: int = 0


def check_new_vm(room: Room, *, name: str, memory_mib: int, others: Sequence[Room]) -> None:
    """A new VM of `memory_mib` must fit in the host's free memory."""
    if memory_mib <= room.free_memory_mib:
        return
    # A hint, not a placement: the roomiest other host that fits.
    better = max((r for r in others if r.free_memory_mib >= memory_mib), default=None,
                 key=lambda r: (r.free_memory_mib, r.host))
    hint = f" {better.host} has room; omit 'on HOST' to let granja choose." if better else ""
    raise InsufficientCapacity(
        f"Cannot create {name} on {room.host}: it needs {gib(memory_mib)} and {room.host} has "
        f"{gib(room.free_memory_mib)} free of {gib(room.memory_mib)}.{hint}")


def check_vcpus(name: str, count: int, *, room: Room, limits: Limits) -> None:
    """A vCPU count must be at most the template's limit and the host's CPUs."""
    if limits.vcpus and count > limits.vcpus:
        raise InsufficientCapacity(
            f"Cannot give {name} {count} vCPUs: its template {limits.template} allows at most "
            f"{limits.vcpus}. Ask for {limits.vcpus} or fewer, or change the template.")
    if count > room.cpus:
        raise InsufficientCapacity(
            f"Cannot give {name} {count} vCPUs: its host {room.host} has {room.cpus} CPUs. "
            f"Ask for {room.cpus} or fewer, or migrate {name} to a larger host first.")


def check_memory(name: str, mib: int, *, now_mib: int, running: bool, room: Room, limits: Limits) -> None:
    """Memory must be within the template's limit and, for a running VM, fit in its host's free memory."""
    if limits.memory_mib and mib > limits.memory_mib:
        raise InsufficientCapacity(
            f"Cannot give {name} {gib(mib)}: its template {limits.template} allows at most "
            f"{gib(limits.memory_mib)}. Ask for {gib(limits.memory_mib)} or less, or change the template.")
    if not running:  # it takes memory only once started, but it can never start bigger than its host
        if mib > room.memory_mib:
            raise InsufficientCapacity(
                f"Cannot give {name} {gib(mib)}: its host {room.host} has only {gib(room.memory_mib)}.")
        return
    free = room.free_memory_mib
    if mib - now_mib > free:
        raise InsufficientCapacity(
            f"Cannot give {name} {gib(mib)}: its host {room.host} has {gib(free)} free of "
            f"{gib(room.memory_mib)}. Ask for at most {gib(free + now_mib)}, or migrate {name} "
            "to a host with room.")
