"""Moving a VM between hosts: plan (checks and method) first, then carry it out or put it back.

Live migration is used when the VM is running and both hosts' drivers can do
it (QEMU, Xen). Otherwise the VM is moved offline: defined on the target,
stopped on the source if it was running, started on the target, and only
then undefined on the source, so that a failure at any step leaves the VM
where it was.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from hypervisor import lifecycle
from hypervisor.errors import HypervisorError, InsufficientCapacity, Interrupted, MigrationFailed, WrongState
from hypervisor.farm import Farm
from hypervisor.interface import Progress
from hypervisor.model import VM, VMState

MIGRATION_TIMEOUT = 900.0  # a live migration of a busy 32 GiB guest takes minutes
ShouldStop = Callable[[], bool]  # asked between steps: True when the operator asked granja to stop


def never() -> bool:
    """The default ShouldStop: nobody asked to stop."""
    return False


@dataclass(frozen=True)
class MigrationPlan:
    """What a migration will do, checked before anything is touched."""

    vm: VM
    source: str
    target: str
    method: str  # "live" | "offline"
    reason: str  # why this method
    target_free_mib: int


@dataclass(frozen=True)
class Migrated:
    """A finished migration."""

    vm: VM
    source: str
    target: str
    method: str
    seconds: float
    warning: str = ""


def plan_migration(farm: Farm, vm: VM, target: str, *, force: bool = False) -> MigrationPlan:
    """Check that `vm` can move to `target` and choose how; raises if it cannot (memory: unless forced)."""
    lifecycle.check(vm.name, vm.state, "migrate")
    if target == vm.host:
        raise WrongState(vm.name, f"already on {target}", "migrate", "Name another host.")
    target_host = farm.call(target, lambda d: d.describe(facts=False))
    source_host = farm.call(vm.host, lambda d: d.describe(facts=False))
    used = sum(v.memory_mib for v in farm.call(target, lambda d: d.list_vms()) if v.state.active)
    free = target_host.memory_mib - used
    if vm.state.active and vm.memory_mib > free and not force:
        raise InsufficientCapacity(
            f"{target} has {free} MiB of memory free and {vm.name} needs {vm.memory_mib} MiB."
        )
    if not vm.state.active:
        method, reason = "offline", f"{vm.name} is {vm.state.value}: its definition moves"
    elif source_host.live_migration and target_host.live_migration:
        method, reason = "live", f"both hosts' drivers ({source_host.driver}) migrate live"
    elif vm.state is VMState.PAUSED:
        raise WrongState(vm.name, vm.state.value, "migrate",
                         f"{vm.host} cannot migrate live; resume {vm.name} first, or shut it down.")
    else:
        method = "offline"
        reason = (f"{source_host.driver} driver cannot migrate live: {vm.name} will be shut down "
                  f"on {vm.host} and started on {target}")
    return MigrationPlan(vm=vm, source=vm.host, target=target, method=method, reason=reason,
                         target_free_mib=free)


def migrate(farm: Farm, plan: MigrationPlan, progress: Progress, *,
            should_stop: ShouldStop = never) -> Migrated:
    """Carry out a plan; on failure the VM is left (or put back) on its source host.

    Asked to stop (`should_stop`) before the VM leaves its source, the move is undone and
    Interrupted is raised; once it has left (live, or shut down for an offline move) it is finished.
    """
    begun = time.monotonic()
    if should_stop():
        raise Interrupted(f"Migration of {plan.vm.name} interrupted before it began: it stays "
                          f"{plan.vm.state.value} on {plan.source}.")
    if plan.method == "live":
        vm = _live(farm, plan, progress)
        warning = ""
    else:
        vm, warning = _offline(farm, plan, progress, should_stop)
    if plan.vm.autostart and not vm.autostart:  # libvirt keeps the autostart link on the source host
        try:
            vm = farm.call(plan.target, lambda d: d.set_autostart(vm.name, True))
        except HypervisorError as exc:
            warning = f"autostart could not be set on {plan.target} ({exc})"
    return Migrated(vm=vm, source=plan.source, target=plan.target, method=plan.method,
                    seconds=time.monotonic() - begun, warning=warning)


def _live(farm: Farm, plan: MigrationPlan, progress: Progress) -> VM:
    target = farm.driver(plan.target)
    try:
        return farm.call(plan.source, lambda d: d.migrate_live(plan.vm.name, target, progress),
                         seconds=MIGRATION_TIMEOUT)
    except HypervisorError as exc:
        raise MigrationFailed(plan.vm.name, plan.source, plan.target, str(exc), plan.source) from exc


def _offline(farm: Farm, plan: MigrationPlan, progress: Progress, should_stop: ShouldStop) -> tuple[VM, str]:
    name, source, target = plan.vm.name, plan.source, plan.target

    def fail(detail: str, exc: Exception) -> MigrationFailed:
        return MigrationFailed(name, source, target, detail, source)

    xml = farm.call(source, lambda d: d.domain_xml(name))
    try:
        farm.call(target, lambda d: d.define(xml))
    except HypervisorError as exc:
        raise fail(f"{target} refused the definition ({exc})", exc) from exc
    progress(_DEFINED.format(name=name, host=target))
    if should_stop():  # nothing has left the source yet: undo the definition and stop here
        _put_back(farm, plan)
        raise Interrupted(f"Migration of {name} interrupted before it left {source}: its new definition on "
                          f"{target} was removed; it stays {plan.vm.state.value} on {source}.")
    was_running = plan.vm.state.active
    try:
        if was_running:
            progress(_SHUTTING.format(name=name, host=source))
            farm.lifecycle(source, name, "shutdown")
            progress(_STARTING.format(name=name, host=target))
            farm.lifecycle(target, name, "start")
    except HypervisorError as exc:
        _put_back(farm, plan)
        raise fail(str(exc), exc) from exc
    warning = ""
    try:
        farm.call(source, lambda d: d.undefine(name))
    except HypervisorError as exc:
        warning = f"the old definition on {source} could not be removed ({exc}); it is a stray"
    moved = farm.call(target, lambda d: d.find_vm(name))
    if moved is None:
        raise fail(f"{name} is not listed on {target} after the move", RuntimeError())
    return moved, warning


_DEFINED = "defined {name} on {host}"  # an offline move's progress lines, as the journal keeps them
_SHUTTING = "shutting {name} down on {host}"
_STARTING = "starting {name} on {host}"


def committed_host(steps: Sequence[str], name: str) -> tuple[str, bool] | None:
    """Where an interrupted offline move of `name` left its current definition, read from its progress lines.

    Returns (host, whether it is the move's target), or None when the lines show no definition on a
    target. A VM that was shut off moved with its definition; a running one had moved once it was
    being started on the target (it had left its source: the move goes on, as `migrate` finishes it),
    and had not while it was only shut down on its source.
    """
    def last(template: str) -> str | None:
        before, _, after = template.format(name=name, host="\n").partition("\n")
        pattern = re.compile(rf"(?:^|: ){re.escape(before)}(\S+){re.escape(after)}$")
        hosts = [m.group(1) for line in steps if (m := pattern.search(line))]
        return hosts[-1] if hosts else None

    target = last(_DEFINED)
    if target is None:
        return None
    source = last(_SHUTTING)
    if source is not None and last(_STARTING) != target:
        return source, False
    return target, True


def _put_back(farm: Farm, plan: MigrationPlan) -> None:
    """Undo a half-done offline move: drop the target's copy, restart the source's."""
    name = plan.vm.name
    with contextlib.suppress(HypervisorError):
        target_vm = farm.call(plan.target, lambda d: d.find_vm(name))
        if target_vm is not None and target_vm.state.active:
            farm.call(plan.target, lambda d: d.lifecycle(name, "destroy"))
        farm.call(plan.target, lambda d: d.undefine(name))
    with contextlib.suppress(HypervisorError):
        source_vm = farm.call(plan.source, lambda d: d.find_vm(name))
        if plan.vm.state.active and source_vm is not None and not source_vm.state.active:
            farm.call(plan.source, lambda d: d.lifecycle(name, "start"))
