"""How many host failures the farm survives: each host's loss simulated with the placement rules; no I/O.

A host's loss is played as `recover` would play it: its running VMs, largest first, each
restarted on the host `choose_host` would pick (least loaded after the move, cluster spread
kept, room within the configured ratios, the VM's storage pools reachable, no host in
maintenance or not answering), counting the earlier restarts of the same loss. A VM that
cannot restart at all (pinned to its host, or a disk only that host reaches) is stranded
with that reason, as is one for which no host fits.

The farm's figure is about the replicated services: the largest k (0, 1 or 2) such that any
k hosts can fail and every running member of a cluster still has somewhere to go. k = 1 is
exact. For k = 2 every pair of hosts is tried when the time budget allows, otherwise a
random sample of pairs (always the same one for the same farm), and the answer says which.

Speed: each loss moves only its own hosts' VMs, and the hosts they could go to are looked
up in a per-size ranking of the untouched hosts, built once, so a loss costs about the number
of its VMs, not the number of hosts (1,000 hosts and 20,000 VMs: all single losses in well
under a second on one core; see `benchmarks/resilience.py`).
"""

from __future__ import annotations

import itertools
import math
import random
import time
from collections.abc import Callable, Collection, Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace

from hypervisor.model import gib
from hypervisor.placement import FarmLoad, Guest, Room, after_move


@dataclass(frozen=True)
class Stranded:
    """A running VM that would have nowhere to go, and why."""

    vm: str
    cluster: str
    reason: str


@dataclass(frozen=True)
class HostLoss:
    """What one host's loss (or a pair's) would do: the restarts, in order, and the stranded VMs."""

    hosts: tuple[str, ...]
    restarts: tuple[tuple[str, str], ...]  # (VM, the host it would restart on)
    stranded: tuple[Stranded, ...]

    @property
    def members_stranded(self) -> tuple[Stranded, ...]:
        """Stranded members of clusters: what breaks the farm's figure."""
        return tuple(s for s in self.stranded if s.cluster)


@dataclass(frozen=True)
class PairFigure:
    """The k = 2 figure: how many pairs were tried, how many strand a cluster member, the worst."""

    total: int
    tried: int
    failing: int
    worst: HostLoss | None

    @property
    def exact(self) -> bool:
        """Whether every pair was tried (else a sample was)."""
        return self.tried == self.total


@dataclass(frozen=True)
class Resilience:
    """The farm's figure with what it rests on: every single loss, and the pairs."""

    tolerated: int  # 0, 1 or 2
    singles: tuple[HostLoss, ...]
    pairs: PairFigure | None  # None when a single loss already strands a member

    @property
    def failing_singles(self) -> tuple[HostLoss, ...]:
        """The hosts whose loss alone strands a member of a cluster."""
        return tuple(loss for loss in self.singles if loss.members_stranded)


@dataclass
class Simulator:
    """Plays host losses against one farm load; built once, then asked about as many losses as needed.

    `guests` are every VM placement knows (only active ones move); `blocked` gives, by VM name,
    why it cannot restart anywhere (pinned, local disks), and is asked only for VMs that move.
    """

    load: FarmLoad
    guests: Iterable[Guest]
    blocked: Callable[[Guest], str] = lambda guest: ""
    _on_host: dict[str, list[Guest]] = field(init=False, default_factory=dict)
    _ranked: dict[tuple[int, int], list[Room]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        for guest in self.guests:
            if guest.active and guest.host in self.load.rooms:
                self._on_host.setdefault(guest.host, []).append(guest)
        for moving in self._on_host.values():
            moving.sort(key=lambda g: (-g.memory_mib, -g.vcpus, g.name))  # as evacuation places them

    def inputs(self) -> Hashable:
        """Everything a simulation reads, as one value: equal inputs, equal losses (see `assess_again`)."""
        rooms = tuple((r.name, r.cpus, r.memory_mib, r.vcpus_used, r.memory_used_mib, r.guests,
                       tuple((c, tuple(m)) for c, m in sorted(r.members.items())), r.pools,
                       r.live_migration, r.maintenance, r.unreachable) for r in self.load.rooms.values())
        # Only the VMs that move on a loss are read, and `blocked` only for them.
        moving = tuple((g, self.blocked(g)) for host in sorted(self._on_host) for g in self._on_host[host])
        return self.load.limits, rooms, moving

    def lose(self, hosts: Collection[str]) -> HostLoss:
        """What losing `hosts` at once would do."""
        gone = set(hosts)
        moving = sorted((g for host in gone for g in self._on_host.get(host, ())),
                        key=lambda g: (-g.memory_mib, -g.vcpus, g.name))
        touched: dict[str, Room] = {}  # rooms this loss has put VMs on, as copies
        restarts: list[tuple[str, str]] = []
        stranded: list[Stranded] = []
        for guest in moving:
            reason = self.blocked(guest)
            target = None if reason else self._best(guest, gone, touched)
            if target is None:
                stranded.append(Stranded(guest.name, guest.cluster,
                                         reason or self._why_nowhere(guest, gone, touched)))
                continue
            room = touched.get(target)
            if room is None:
                base = self.load.rooms[target]
                room = touched[target] = replace(base, members={c: list(m) for c, m in base.members.items()})
            _count(room, guest)
            restarts.append((guest.name, target))
        return HostLoss(tuple(sorted(gone)), tuple(restarts), tuple(stranded))

    def _best(self, guest: Guest, gone: set[str], touched: Mapping[str, Room]) -> str | None:
        """The host `choose_host` would pick, without scanning every host."""
        best: tuple[tuple[float, float, str], str] | None = None
        for room in self._ranking(guest):  # untouched rooms, best first: the first that fits wins
            if room.name in gone or room.name in touched:
                continue
            if _spread_ok(guest, room) and guest.pools <= room.pools:
                best = (after_move(guest, room), room.name)
                break
        for name, room in touched.items():
            if self.load.fits(guest, room):
                key = after_move(guest, room)
                if best is None or key < best[0]:
                    best = (key, name)
        return None if best is None else best[1]

    def _ranking(self, guest: Guest) -> list[Room]:
        """Rooms with capacity for a VM of this size as the farm stands, best first."""
        size = (guest.vcpus, guest.memory_mib)
        ranked = self._ranked.get(size)
        if ranked is None:
            probe = Guest(name="", vcpus=guest.vcpus, memory_mib=guest.memory_mib)
            ranked = sorted((r for r in self.load.rooms.values() if self.load.fits(probe, r)),
                            key=lambda r: after_move(probe, r))
            self._ranked[size] = ranked
        return ranked

    def _why_nowhere(self, guest: Guest, gone: set[str], touched: Mapping[str, Room]) -> str:
        """Why no host fits a VM, in the words an operator would use."""
        rooms = [touched.get(r.name, r) for r in self.load.rooms.values() if r.name not in gone]
        usable = [r for r in rooms if not r.unreachable and not r.maintenance and guest.pools <= r.pools]
        if not usable:
            return "no other host that answers and is out of maintenance reaches its storage"
        alone = replace(guest, cluster="")
        with_room = [r for r in usable if self.load.fits(alone, r)]
        if with_room:
            return f"every host with room already runs a member of {guest.cluster}"
        return f"no host has {gib(guest.memory_mib)} of memory and {guest.vcpus} vCPUs free"


class Proposal:
    """A change a preview proposes, played on a copy of the farm's load: a VM placed or resized, a mark."""

    def __init__(self, *, guest: Guest | None = None, to: str = "", memory_mib: int | None = None,
                 maintenance: str = "") -> None:
        self.guest, self.to, self.memory_mib, self.maintenance = guest, to, memory_mib, maintenance

    def apply(self, load: FarmLoad, guests: list[Guest]) -> list[Guest]:
        """Proposal `load` in place (it is a copy); the guests as they would be."""
        if self.maintenance in load.rooms:
            load.rooms[self.maintenance].maintenance = True
        if self.guest is None:
            return guests
        old = next((g for g in guests if g.name == self.guest.name), None)
        was = old or self.guest
        new = replace(was, host=self.to or was.host, memory_mib=self.memory_mib or was.memory_mib)
        if old is not None and old.host in load.rooms:
            load.remove(old, old.host)
        if new.host in load.rooms:
            load.add(new, new.host)
        return [g for g in guests if g.name != new.name] + [new]


def _spread_ok(guest: Guest, room: Room) -> bool:
    return not guest.cluster or not any(m != guest.name for m in room.members.get(guest.cluster, ()))


def _count(room: Room, guest: Guest) -> None:
    room.guests += 1
    if guest.cluster:
        room.members.setdefault(guest.cluster, []).append(guest.name)
    room.vcpus_used += guest.vcpus
    room.memory_used_mib += guest.memory_mib


def single_losses(sim: Simulator) -> tuple[HostLoss, ...]:
    """Every host's loss, one at a time, in the order of the farm's hosts."""
    return tuple(sim.lose((host,)) for host in sim.load.rooms)


def assess(sim: Simulator, *, pair_seconds: float = 20.0, seed: int = 0,
           clock: Callable[[], float] = time.monotonic) -> Resilience:
    """The farm's figure: single losses exactly, then pairs within `pair_seconds` (a sample past it)."""
    singles = single_losses(sim)
    if any(loss.members_stranded for loss in singles):
        return Resilience(0, singles, None)
    tally = _Failing()
    for pair in _pairs_in_time(sim, seed, pair_seconds, clock):
        tally.add(sim.lose(pair))
    figure = PairFigure(total=_pair_count(sim), tried=tally.tried, failing=tally.failing, worst=tally.worst)
    return Resilience(2 if figure.exact and not tally.failing else 1, singles, figure)


def _pair_count(sim: Simulator) -> int:
    return math.comb(len(sim.load.rooms), 2)


def _pairs_in_time(sim: Simulator, seed: int, seconds: float, clock: Callable[[], float]
                   ) -> Iterator[tuple[str, str]]:
    """Every pair of the farm's hosts, shuffled (the same order for the same seed), until `seconds` pass."""
    pairs = list(itertools.combinations(sim.load.rooms, 2))
    random.Random(seed).shuffle(pairs)
    deadline = clock() + seconds
    for pair in pairs:
        yield pair
        if clock() > deadline:
            return


@dataclass
class _Failing:
    """Pairs' losses counted as they are played: how many were, how many strand members, the worst."""

    tried: int = 0
    failing: int = 0
    worst: HostLoss | None = None

    def add(self, loss: HostLoss) -> None:
        self.tried += 1
        if loss.members_stranded:
            self.failing += 1
            if self.worst is None or _worse(loss, self.worst):
                self.worst = loss


@dataclass(frozen=True)
class PairLoss:
    """What a change would do to the k = 2 figure: the pairs that would strand members after it only.

    `failing_before` is 0 or 1: the pairs stop at the first that strands members before the change,
    since the farm then survives no pair already and the change cannot lower that.
    """

    total: int
    tried: int
    failing_before: int
    newly_failing: int
    worst: HostLoss | None  # the worst pair among those newly failing

    @property
    def lowers_figure(self) -> bool:
        """Whether the farm survived every pair tried before the change and does not after it."""
        return not self.failing_before and self.newly_failing > 0


def pairs_lost(before: Simulator, after: Simulator, *, pair_seconds: float, seed: int = 0,
               clock: Callable[[], float] = time.monotonic) -> PairLoss:
    """The pairs of hosts whose loss strands cluster members after a change and not before.

    Both farms play the same pairs in `assess`'s order, within `pair_seconds` (a sample past it).
    """
    tally = _Failing()
    for pair in _pairs_in_time(after, seed, pair_seconds, clock):
        if before.lose(pair).members_stranded:
            return PairLoss(_pair_count(after), tally.tried + 1, 1, tally.failing, tally.worst)
        tally.add(after.lose(pair))
    return PairLoss(_pair_count(after), tally.tried, 0, tally.failing, tally.worst)


# The last figure `assess_again` worked out, by what it was worked out from: one entry, so the
# memory it holds never outgrows one farm's figure.
_LAST: dict[Hashable, Resilience] = {}


def assess_again(sim: Simulator, *, pair_seconds: float, seed: int = 0) -> Resilience:
    """`assess`, or the figure it gave last time in this process if the simulation's inputs are the same.

    For a figure worked out again and again, as the site's after every change: most changes
    (a suspend, a resume, a baseline) leave placement alone, and the pairs would take the whole
    `pair_seconds` to find the same answer.
    """
    key = (sim.inputs(), pair_seconds, seed)
    known = _LAST.get(key)
    if known is None:
        known = assess(sim, pair_seconds=pair_seconds, seed=seed)
        _LAST.clear()
        _LAST[key] = known
    return known


def _worse(a: HostLoss, b: HostLoss) -> bool:
    """Whether loss `a` strands more cluster members than `b` (ties: the first pair by name)."""
    return (-len(a.members_stranded), a.hosts) < (-len(b.members_stranded), b.hosts)


Stranding = list[tuple[str, tuple[str, ...]]]  # (host, the cluster members its loss strands)


def newly_stranding(before: Iterable[HostLoss], after: Iterable[HostLoss]) -> Stranding:
    """Hosts whose loss would strand cluster members after a change that did not before, with them."""
    was = {loss.hosts: {s.vm for s in loss.members_stranded} for loss in before}
    out = []
    for loss in after:
        new = tuple(s.vm for s in loss.members_stranded if s.vm not in was.get(loss.hosts, set()))
        if new:
            out.append((loss.hosts[0], new))
    return out
