"""Choosing a host for a VM: room for it, its cluster spread over hosts, least loaded wins; no I/O.

Rules, in the order a host is ruled out: unreachable, in maintenance, excluded by the
caller, missing a storage pool the VM's disks need, already holding a member of the VM's
cluster, short of memory (active VMs' memory within `memory_ratio` × host memory), short of
vCPUs (active VMs' vCPUs within `cpu_ratio` × host cores). Of the hosts left, the one with
the smallest share of its memory committed after the move wins (then vCPUs, then name).
A shut-off VM must fit as if started, so that it can be started where it lands.

`FarmLoad` indexes rooms by host and cluster members by host, so one choice costs one pass
over the hosts, whatever the number of VMs; `FarmLoad.add` keeps a plan's earlier moves.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from hypervisor.host_model import Host
from hypervisor.limits import Limits
from hypervisor.model import VM, gib
from hypervisor.words import listed, plural

__all__ = ["Choice", "FarmLoad", "Guest", "Limits", "Room", "after_move", "choose_host", "rank_hosts"]


@dataclass(frozen=True)
class Guest:
    """What placement needs of a VM: size, cluster, whether it holds memory, pools its disks use."""

    name: str
    vcpus: int
    memory_mib: int
    cluster: str = ""
    active: bool = True
    host: str = ""
    pools: frozenset[str] = frozenset()

    @classmethod
    def of(cls, vm: VM, *, need_pools: bool = False) -> Guest:
        """A VM as placement sees it; `need_pools` when its disks must be reachable on the target."""
        pools = frozenset(d.pool for d in vm.disks if d.pool) if need_pools else frozenset()
        return cls(name=vm.name, vcpus=vm.vcpus, memory_mib=vm.memory_mib, cluster=vm.meta.cluster,
                   active=vm.state.active, host=vm.host, pools=pools)


@dataclass
class Room:
    """One host's capacity and what is committed on it, updated as a plan places VMs."""

    name: str
    cpus: int
    memory_mib: int
    vcpus_used: int = 0
    memory_used_mib: int = 0
    guests: int = 0  # VMs defined here, running or not
    members: dict[str, list[str]] = field(default_factory=dict)  # cluster -> its VMs here
    pools: frozenset[str] = frozenset()
    live_migration: bool = False
    maintenance: bool = False
    unreachable: bool = False


@dataclass(frozen=True)
class Choice:
    """The host chosen for a VM (None if no host fits) and why, in sentences."""

    guest: str
    host: str | None
    reasons: tuple[str, ...]


class FarmLoad:
    """Every host's room, by name; built once from hosts and VMs, then updated move by move."""

    def __init__(self, rooms: Iterable[Room], *, limits: Limits | None = None) -> None:
        self.rooms = {room.name: room for room in rooms}
        self.limits = limits or Limits()

    @classmethod
    def build(cls, hosts: Iterable[Host], guests: Iterable[Guest], *, maintenance: Collection[str] = (),
              unreachable: Collection[str] = (), limits: Limits | None = None) -> FarmLoad:
        """The load of a farm: hosts' hardware, what their VMs (`Guest.of(vm)`) commit, and marks."""
        rooms = [Room(name=h.name, cpus=h.cpus, memory_mib=h.memory_mib, live_migration=h.live_migration,
                      pools=frozenset(p.name for p in h.pools if p.active),
                      maintenance=h.name in maintenance, unreachable=h.name in unreachable)
                 for h in hosts]
        load = cls(rooms, limits=limits)
        for guest in guests:
            if guest.host in load.rooms:
                load.add(guest, guest.host)
        return load

    def add(self, guest: Guest, host: str) -> None:
        """Count a VM on a host (a plan's move, or a VM already there)."""
        room = self.rooms[host]
        room.guests += 1
        if guest.cluster:
            room.members.setdefault(guest.cluster, []).append(guest.name)
        if guest.active:
            room.vcpus_used += guest.vcpus
            room.memory_used_mib += guest.memory_mib

    def remove(self, guest: Guest, host: str) -> None:
        """Stop counting a VM on a host (it moves away)."""
        room = self.rooms[host]
        room.guests -= 1
        members = room.members.get(guest.cluster)
        if members and guest.name in members:
            members.remove(guest.name)
        if guest.active:
            room.vcpus_used -= guest.vcpus
            room.memory_used_mib -= guest.memory_mib

    def problems(self, guest: Guest, host: str) -> list[tuple[str, str]]:
        """Why `guest` should not go to `host`, as (kind, sentence); empty when it fits."""
        room, limits = self.rooms[host], self.limits
        out: list[tuple[str, str]] = []
        if room.unreachable:
            out.append(("unreachable", f"{host} is not answering"))
        if room.maintenance:
            out.append(("maintenance", f"{host} is in maintenance"))
        missing = sorted(guest.pools - room.pools)
        if missing:
            out.append(("storage", f"{host} has no pool {', '.join(missing)} for {guest.name}'s disks"))
        others = [m for m in room.members.get(guest.cluster, ()) if m != guest.name] if guest.cluster else []
        if others:
            out.append(("spread", f"{host} already runs {', '.join(others)} of cluster {guest.cluster}"))
        free = limits.memory_mib(room) - room.memory_used_mib
        if guest.memory_mib > free:
            out.append(("memory", f"{host} has {gib(max(free, 0))} of memory free and {guest.name} "
                                  f"needs {gib(guest.memory_mib)}"))
        cpus = limits.vcpus(room)
        if room.vcpus_used + guest.vcpus > cpus:
            out.append(("vcpus", f"{host} would have {room.vcpus_used + guest.vcpus} vCPUs committed, "
                                 f"over its {cpus} ({room.cpus} cores × {limits.cpu_ratio:g})"))
        return out

    def fits(self, guest: Guest, room: Room) -> bool:
        """Whether `guest` may go to `room`: the fast form of `not problems(...)`."""
        if room.unreachable or room.maintenance or not guest.pools <= room.pools:
            return False
        if guest.cluster and any(m != guest.name for m in room.members.get(guest.cluster, ())):
            return False
        limits = self.limits
        return (room.memory_used_mib + guest.memory_mib <= limits.memory_mib(room)
                and room.vcpus_used + guest.vcpus <= limits.vcpus(room))


def after_move(guest: Guest, room: Room) -> tuple[float, float, str]:
    """How committed a room is once `guest` is on it (memory share, vCPU share, name): smaller wins."""
    memory = (room.memory_used_mib + guest.memory_mib) / max(room.memory_mib, 1)
    return memory, (room.vcpus_used + guest.vcpus) / max(room.cpus, 1), room.name


def rank_hosts(guest: Guest, load: FarmLoad, *, exclude: Collection[str] = ()) -> list[str]:
    """The hosts `guest` may go to, best first."""
    fitting = [room for room in load.rooms.values()
               if room.name not in exclude and room.name != guest.host and load.fits(guest, room)]
    fitting.sort(key=lambda room: after_move(guest, room))
    return [room.name for room in fitting]


def choose_host(guest: Guest, load: FarmLoad, *, exclude: Collection[str] = ()) -> Choice:
    """The best host for `guest` with the reasons for it, or None with the reasons no host fits."""
    best: Room | None = None
    fitting = 0
    for room in load.rooms.values():
        if room.name in exclude or room.name == guest.host or not load.fits(guest, room):
            continue
        fitting += 1
        if best is None or after_move(guest, room) < after_move(guest, best):
            best = room
    ruled_out = _ruled_out(guest, load, exclude, chosen=best.name if best else None)
    if best is None:
        return Choice(guest.name, None, (f"no host fits {guest.name}", *ruled_out))
    memory_share = after_move(guest, best)[0]
    spread = (f"no other member of cluster {guest.cluster} is there" if guest.cluster
              else "it has room")
    reasons = (
        f"{best.name} has {gib(load.limits.memory_mib(best) - best.memory_used_mib)} "
        f"of memory free and {best.vcpus_used} vCPUs committed on {best.cpus} cores; {spread}",
        f"least loaded of {fitting} fitting hosts: {memory_share:.0%} of its memory committed after the move",
        *ruled_out,
    )
    return Choice(guest.name, best.name, reasons)


def _ruled_out(guest: Guest, load: FarmLoad, exclude: Collection[str], *, chosen: str | None) -> list[str]:
    """One sentence per rule that kept hosts out, with a few of them named."""
    by_kind: dict[str, list[str]] = {}
    for name, room in load.rooms.items():
        if name == chosen or name == guest.host or (chosen is not None and load.fits(guest, room)):
            continue
        if name in exclude:
            by_kind.setdefault("excluded", []).append(name)
            continue
        for kind, _text in load.problems(guest, name)[:1]:
            by_kind.setdefault(kind, []).append(name)
    words = {"unreachable": "not answering", "maintenance": "in maintenance", "excluded": "excluded",
             "storage": "without the VM's storage pools",
             "spread": f"already running a member of {guest.cluster}",
             "memory": "short of memory", "vcpus": "short of vCPUs"}
    return [f"ruled out {plural(len(hosts), 'host')} {words[kind]}: {listed(hosts)}"
            for kind, hosts in by_kind.items()]
