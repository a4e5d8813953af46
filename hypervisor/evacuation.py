"""Emptying a host: plan a move for every VM with the placement rules, then carry it out one by one.

The plan accounts for its own earlier moves (the load is updated as each VM is placed), the
largest VMs are placed first so they find room, and every VM ends up either in a move or
in the list of VMs that stay, with the reason. Carrying it out stops at the first failure,
leaving that VM where it was, and says what moved and what was not tried.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from hypervisor import lifecycle
from hypervisor.errors import HypervisorError, Interrupted, VMNotFound, WrongState
from hypervisor.farm import Farm
from hypervisor.interface import Progress
from hypervisor.migration import Migrated, ShouldStop, migrate, never, plan_migration
from hypervisor.model import VM, VMState
from hypervisor.placement import FarmLoad, Guest, choose_host
from hypervisor.shared_storage import only_here


@dataclass(frozen=True)
class Move:
    """One VM to move: where to, how (live, offline, restart), and why that host."""

    vm: VM
    target: str
    method: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Stuck:
    """A VM that stays where it is, and why."""

    vm: VM
    reason: str


@dataclass(frozen=True)
class Evacuation:
    """What emptying one host will do: the moves in order, and the VMs that stay."""

    host: str
    moves: tuple[Move, ...]
    stuck: tuple[Stuck, ...]


@dataclass(frozen=True)
class Carried:
    """How carrying out an Evacuation went: what moved, what failed (and why), what was not tried."""

    moved: tuple[Migrated, ...]
    failed: tuple[Move, HypervisorError] | None
    not_tried: tuple[Move, ...]
    interrupted: bool = False  # asked to stop: the move in progress finished or was undone, no other began


def place_each(host: str, vms: Sequence[VM], load: FarmLoad, *, stays: Callable[[VM], str],
               guest_of: Callable[[VM], Guest] = Guest.of, method_of: Callable[[VM, str], str],
               exclude_of: Callable[[VM], set[str]] = lambda vm: set()) -> Evacuation:
    """Place each VM leaving `host`, largest first, unless `stays` gives a reason; `load` is updated."""
    moves: list[Move] = []
    stuck: list[Stuck] = []
    for vm in sorted(vms, key=lambda v: (-v.memory_mib, -v.vcpus, v.name)):
        reason = stays(vm)
        guest = guest_of(vm)
        choice = None if reason else choose_host(guest, load, exclude={host} | exclude_of(vm))
        if choice is None or choice.host is None:
            stuck.append(Stuck(vm, reason or "; ".join(choice.reasons if choice else ())))
            continue
        load.remove(guest, host)
        load.add(guest, choice.host)
        moves.append(Move(vm, choice.host, method_of(vm, choice.host), choice.reasons))
    return Evacuation(host=host, moves=tuple(moves), stuck=tuple(stuck))


def plan_evacuation(host: str, vms: Sequence[VM], load: FarmLoad, *,
                    pinned: Collection[str] = (),
                    strays: Mapping[str, str] = MappingProxyType({}),
                    shared_pools: Collection[str] | None = None) -> Evacuation:
    """Plan moves for every VM on `host`: live where both hosts can, else offline; `load` is updated.

    `strays` maps the VMs also defined elsewhere to why they stay: a stray copy is never moved.
    With `shared_pools` (the host's pools others reach), a VM with a disk in another pool stays.
    """
    source_live = load.rooms[host].live_migration
    not_live = {r.name for r in load.rooms.values() if not r.live_migration}

    def method(vm: VM, target: str) -> str:
        live = vm.state.active and source_live and load.rooms[target].live_migration
        return "live" if live else "offline"

    def stays(vm: VM) -> str:
        why = strays.get(vm.name) or _why_it_stays(vm, host, pinned, source_live=source_live)
        if why or shared_pools is None:
            return why
        return only_here(vm, host, shared_pools)  # a move does not copy disks

    return place_each(
        host, vms, load, method_of=method, stays=stays,
        exclude_of=lambda vm: not_live if vm.state is VMState.PAUSED else set(),  # paused: live only
    )


def _why_it_stays(vm: VM, host: str, pinned: Collection[str], *, source_live: bool) -> str:
    if vm.name in pinned:
        return f"pinned to {host} in the fleet config"
    try:
        lifecycle.check(vm.name, vm.state, "migrate")
    except WrongState as exc:
        return str(exc)
    if vm.state is VMState.PAUSED and not source_live:
        return f"paused, and {host} cannot migrate live: resume it or shut it down first"
    return ""


def evacuate(farm: Farm, plan: Evacuation, progress: Progress, *, record: Callable[[VM], None],
             should_stop: ShouldStop = never) -> Carried:
    """Carry out the moves one at a time; stop at the first failure. `record` is told each new home.

    When `should_stop` says so, the move in progress finishes (or is undone) and no other begins.
    """
    moved: list[Migrated] = []
    for number, move in enumerate(plan.moves, 1):
        if should_stop():
            return Carried(tuple(moved), None, plan.moves[number - 1:], interrupted=True)
        progress(f"{number}/{len(plan.moves)}: {move.vm.name} → {move.target} ({move.method})")
        step = f"{number}/{len(plan.moves)} {move.vm.name}: "  # the migration's own lines say only what
        try:
            done = migrate(farm, plan_migration(farm, _as_now(farm, plan.host, move.vm), move.target),
                           _prefixed(progress, step), should_stop=should_stop)
        except Interrupted:
            return Carried(tuple(moved), None, plan.moves[number - 1:], interrupted=True)
        except HypervisorError as exc:
            return Carried(tuple(moved), (move, exc), plan.moves[number:])
        record(done.vm)
        moved.append(done)
    return Carried(tuple(moved), None, ())


def _prefixed(progress: Progress, step: str) -> Progress:
    """Progress whose every line starts with `step`."""
    return lambda line: progress(step + line)


def _as_now(farm: Farm, host: str, vm: VM) -> VM:
    """The VM as its host reports it now: its state may have changed since the plan was shown."""
    name = vm.name
    now = farm.call(host, lambda d: d.find_vm(name))
    if now is None:
        raise VMNotFound(name, host)
    return now
