"""Starting a crashed host's VMs elsewhere: those whose disks other hosts reach, placed by the rules.

The down host cannot be asked for anything, so each VM is defined on the chosen host from
the full domain XML its host last reported (kept at every refresh), changed only where the
target must differ (the domain type of another hypervisor driver, a shared pool's path, a
console that would come back open without its password), and started there. Only a
VM recorded before granja kept definitions is rebuilt from its summary. A VM with a disk
outside the shared pools, or pinned to its host, stays and is listed with the reason. A
network disk (rbd, iscsi, nbd…) is reached over the network, so it does not keep a VM back.
"""

from __future__ import annotations

import contextlib
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import replace

from hypervisor.consoles import closed_to_loopback, recorded_consoles
from hypervisor.domain_build import build_domain, domain_type
from hypervisor.errors import HypervisorError
from hypervisor.evacuation import Carried, Evacuation, Move, place_each
from hypervisor.farm import Farm
from hypervisor.host_model import Pool
from hypervisor.interface import Progress
from hypervisor.migration import Migrated, ShouldStop, never
from hypervisor.model import VM
from hypervisor.placement import FarmLoad, Guest
from hypervisor.shared_storage import only_here


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
                      record: Callable[[VM], None], pools: Sequence[Pool] = (),
                      should_stop: ShouldStop = never) -> Carried:
    """Define and start each planned VM on its new host, one by one; stop at the first failure.

    `pools` are the down host's pools as last recorded: a shared pool the target mounts at
    another path gets its disks' paths moved there. When `should_stop` says so, the VM being
    started is finished and no other begins.
    """
    started: list[Migrated] = []
    for number, move in enumerate(plan.moves, 1):
        if should_stop():
            return Carried(tuple(started), None, plan.moves[number - 1:], interrupted=True)
        progress(f"{number}/{len(plan.moves)}: starting {move.vm.name} on {move.target}")
        begun = time.monotonic()
        try:
            vm = _start_on(farm, move, pools)
        except HypervisorError as exc:
            return Carried(tuple(started), (move, exc), plan.moves[number:])
        record(vm)
        started.append(Migrated(vm=vm, source=plan.host, target=move.target, method=move.method,
                                seconds=time.monotonic() - begun))
    return Carried(tuple(started), None, ())


def _start_on(farm: Farm, move: Move, pools: Sequence[Pool]) -> VM:
    """Define the VM from its record on the target, start it, restore autostart; undo on failure."""
    target, name = move.target, move.vm.name
    there = farm.call(target, lambda d: d.describe(facts=False))
    xml = definition_for(move.vm, domain_type=domain_type(there.driver),
                         paths=moved_paths(move.vm, pools, there.pools))
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


_DOMAIN_TYPE = re.compile(r"""(<domain\b[^>]*?\btype\s*=\s*)(["'])[^"']*\2""")


def moved_paths(vm: VM, source: Sequence[Pool], target: Sequence[Pool]) -> dict[str, str]:
    """Disk path -> its path on the target, for disks of a pool the target mounts elsewhere."""
    was = {p.name: p.path.rstrip("/") for p in source if p.path}
    now = {p.name: p.path.rstrip("/") for p in target if p.path}
    moved = {}
    for disk in vm.disks:
        old, new = was.get(disk.pool, ""), now.get(disk.pool, "")
        if old and new and old != new and disk.source.startswith(old + "/"):
            moved[disk.source] = new + disk.source[len(old):]
    return moved


def definition_for(vm: VM, *, domain_type: str, paths: Mapping[str, str] | None = None) -> str:
    """The XML to define `vm` with on a host whose driver wants `domain_type`: its recorded definition.

    Only what must change is changed: the domain type, the disk paths in `paths` (a shared pool
    mounted elsewhere on the target), and consoles that would come back open (without their
    password, or beyond loopback), which listen on loopback only (`consoles.reopen_notes` says how
    to reopen them). A VM recorded before definitions were kept is rebuilt.
    """
    paths = paths or {}
    if not vm.definition:
        disks = tuple(replace(d, source=paths.get(d.source, d.source)) for d in vm.disks)
        return build_domain(replace(vm, disks=disks), domain_type=domain_type)
    xml = vm.definition
    root = ET.fromstring(xml)
    # Its consoles come back without their passwords (never kept): those that had one, or that
    # listen beyond loopback, listen on loopback only (the preview and the result say so).
    changed = closed_to_loopback(root, recorded_consoles(vm, root))
    for source in root.iterfind("devices/disk/source") if paths else ():
        for attr in ("file", "dev"):
            old = source.get(attr)
            if old is not None and old in paths:
                source.set(attr, paths[old])
                changed = True
    if changed:
        xml = ET.tostring(root, encoding="unicode")
    # The root's type attribute is rewritten as text, and only for another driver: a `kvm` guest
    # stays `kvm` on a QEMU host (`qemu` would run it without acceleration).
    def retyped(match: re.Match[str]) -> str:
        recorded = match.group(0)[len(match.group(1)) + 1:-1]
        if _FAMILY.get(recorded, recorded) == _FAMILY.get(domain_type, domain_type):
            return match.group(0)
        return f"{match.group(1)}{match.group(2)}{domain_type}{match.group(2)}"

    return _DOMAIN_TYPE.sub(retyped, xml, count=1)


# Domain types one libvirt driver runs: a QEMU host runs both.
_FAMILY = {"kvm": "qemu"}
