"""What a preview relied on, checked again when it is confirmed, under the locks the change holds.

A confirmation can come minutes after its preview. Meanwhile another change may
have been confirmed (a cluster member put on the chosen host, its memory taken),
a host put in maintenance, or the VM itself shut down or moved. The change holds
the VM and every host it puts something on before these checks run, and every
change that puts a VM on a host records it in the inventory before it lets the
host go, so the inventory read here counts every change confirmed meanwhile.
Each check returns what changed, in words; empty when the preview still holds.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from bot.context import Context
from hypervisor.errors import HypervisorError
from hypervisor.evacuation import Evacuation
from hypervisor.model import VM
from hypervisor.placement import FarmLoad, Guest, choose_host
from hypervisor.shared_storage import first_local, how_to_share, shared_pool_names, why_local
from inventory.load import farm_load

# Placement rules an operator may overrule with 'force'; an unreachable host is not one of them.
FORCEABLE = ("spread", "maintenance", "memory", "vcpus")


def load_of(ctx: Context) -> FarmLoad:
    """The farm's load from the inventory, with the config's commitment limits."""
    return farm_load(ctx.inventory, limits=ctx.config.placement.limits)


def shared_on(ctx: Context, host: str) -> frozenset[str]:
    """The pools of `host` (as last recorded) that other hosts reach: by type, or named in the config."""
    record = ctx.inventory.host(host)
    return shared_pool_names(record.host.pools if record else (), ctx.config.placement.shared_pools)


def disk_only_here(ctx: Context, vm: VM) -> tuple[str, str]:
    """Why `vm` cannot move (a disk only its host is known to reach) and what to do; ("", "") if it can.

    Neither a live nor an offline move copies disks: libvirt would start the guest on whatever
    the target has at that path, or fail there, and an offline move would leave the disk behind.
    """
    disk = first_local(vm, shared_on(ctx, vm.host))
    return (why_local(disk, vm.host), how_to_share(disk)) if disk else ("", "")


def disk_now_only_here(ctx: Context, vm: VM) -> tuple[str, str]:
    """`disk_only_here` for the VM as its host defines it now (its disks may have changed since a preview)."""
    try:
        now = ctx.farm.call(vm.host, lambda d: d.find_vm(vm.name))
    except HypervisorError:
        return "", ""  # vm_moved_or_changed says the host stopped answering
    return disk_only_here(ctx, now) if now is not None else ("", "")


def changed(what: Sequence[str], instead: str) -> str:
    """The refusal of a confirmation whose preview no longer holds: what changed, and what to say."""
    return f"Nothing was done: since the preview, {'; '.join(what)}. {instead}"


def vm_moved_or_changed(ctx: Context, vm: VM) -> list[str]:
    """How the VM differs from the preview's: gone, on another host, in another state."""
    try:
        now = ctx.farm.call(vm.host, lambda d: d.find_vm(vm.name))
    except HypervisorError as exc:
        return [f"{vm.host} stopped answering ({exc})"]
    if now is not None and now.state is vm.state:
        return []
    if now is None or not now.state.active:  # it may run elsewhere, leaving this copy behind
        found = ctx.farm.find(vm.name)
        if found.vm is not None and found.vm.host != vm.host:
            return [f"{vm.name} moved from {vm.host} to {found.vm.host}"]
    if now is None:
        return [f"{vm.name} is no longer on {vm.host}"]
    return [f"{vm.name} is {now.state.value} (it was {vm.state.value})"]


def placement_problems(ctx: Context, guest: Guest, host: str, *,
                       allowed: Collection[str] = ()) -> list[tuple[str, str]]:
    """Why `guest` should not go to `host` now, as (kind, sentence); kinds in `allowed` were forced."""
    load = load_of(ctx)
    if host not in load.rooms:
        return [("unreachable", f"{host} has left the inventory")]
    return [(kind, text) for kind, text in load.problems(guest, host) if kind not in allowed]


def placement_changed(ctx: Context, guest: Guest, host: str, *, forced: Collection[str], choose: str,
                      again: bool, force: str, verb: str) -> str:
    """Why `guest` may no longer go to `host` as previewed, and what to say instead; "" if it still may.

    `choose` lets granja choose a host (said `again` when the preview did choose), `force` overrules
    the rules that 'force' may overrule, and `verb` says what it does ("move").
    """
    problems = placement_problems(ctx, guest, host, allowed=forced)
    if not problems:
        return ""
    choice = choose_host(guest, load_of(ctx))
    ways = [f"'{choose}'{' again' * again} to let granja choose ({choice.host} now)"] if choice.host else []
    if all(kind in FORCEABLE for kind, _ in problems):
        ways.append(f"'{force}' to {verb} it there anyway")
    instead = ("Say " + ", or ".join(ways) + ".") if ways else "See 'hosts' and 'check'."
    return changed([text for _, text in problems], instead)


def moves_changed(ctx: Context, plan: Evacuation, *, need_pools: bool = False) -> list[str]:
    """Why an evacuation's or recovery's moves no longer fit, each counted before the next as planned."""
    load = load_of(ctx)
    problems: dict[str, list[str]] = {}
    for move in plan.moves:
        guest = Guest.of(move.vm, need_pools=need_pools)
        if move.target not in load.rooms:
            problems.setdefault(f"{move.target} has left the inventory", []).append(move.vm.name)
            continue
        for _kind, text in load.problems(guest, move.target):
            problems.setdefault(text, []).append(move.vm.name)
        load.add(guest, move.target)
    return [f"{text} (for {', '.join(names)})" for text, names in problems.items()]
