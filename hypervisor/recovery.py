"""Starting a crashed host's VMs elsewhere: those whose disks other hosts reach, placed by the rules.

The down host cannot be asked for anything, so each VM is rebuilt from its last recorded
configuration, defined on the chosen host and started there. A VM with a disk outside the
shared pools, or pinned to its host, stays and is listed with the reason.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Collection, Sequence

from hypervisor.domain_build import build_domain, domain_type
from hypervisor.errors import HypervisorError
from hypervisor.evacuation import Carried, Evacuation, Move, place_each
from hypervisor.farm import Farm
from hypervisor.interface import Progress
from hypervisor.migration import Migrated
from hypervisor.model import VM
from hypervisor.placement import FarmLoad, Guest
from hypervisor.shared_storage import only_here


# libvirt's domain type for each driver name a host reports.
def plan_recovery(host: str, vms: Sequence[VM], load: FarmLoad, *, shared_pools: Collection[str],
                  pinned: Collection[str] = ()) -> Evacuation:
    """Plan where each VM that was running on the down `host` starts again; `load` is updated.

    `shared_pools`: the down host's pools that other hosts reach (`shared_storage.shared_pool_names`).
    """
    def stays(vm: VM) -> str:
        if vm.name in pinned:
            return f"pinned to {host} in the fleet config"
        return only_here(vm, host, shared_pools)

    return place_each(host, vms, load, stays=stays, method_of=lambda vm, target: "restart",
                      guest_of=lambda vm: Guest.of(vm, need_pools=True))


def restart_elsewhere(farm: Farm, plan: Evacuation, progress: Progress, *,
                      record: Callable[[VM], None]) -> Carried:
    """Define and start each planned VM on its new host, one by one; stop at the first failure."""
    started: list[Migrated] = []
    for number, move in enumerate(plan.moves, 1):
        progress(f"{number}/{len(plan.moves)}: starting {move.vm.name} on {move.target}")
        begun = time.monotonic()
        try:
            vm = _start_on(farm, move)
        except HypervisorError as exc:
            return Carried(tuple(started), (move, exc), plan.moves[number:])
        record(vm)
        started.append(Migrated(vm=vm, source=plan.host, target=move.target, method=move.method,
                                seconds=time.monotonic() - begun))
    return Carried(tuple(started), None, ())


def _start_on(farm: Farm, move: Move) -> VM:
    """Define the VM from its record on the target, start it, restore autostart; undo on failure."""
    target, name = move.target, move.vm.name
    driver = farm.call(target, lambda d: d.describe(facts=False)).driver
    xml = build_domain(move.vm, domain_type=domain_type(driver))
    farm.call(target, lambda d: d.define(xml))
    try:
        started = farm.lifecycle(target, name, "start")
        if move.vm.autostart:
            started = farm.call(target, lambda d: d.set_autostart(name, True))
        return started
    except HypervisorError:
        with contextlib.suppress(HypervisorError):
            farm.call(target, lambda d: d.undefine(name))
        raise
