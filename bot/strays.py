"""VMs defined on more than one host (strays): found live before acting, resolved only by `repair`.

A stray is an extra definition of a VM on another host, left by an interrupted move, a crash,
or a recovery whose dead host came back. Commands that act on a VM call `refuse_strays` first:
a VM running somewhere is acted on there (its shut-off copies are never moved or started), and
a VM that runs nowhere but is defined on two hosts is refused, naming `repair`. `repair VM`
keeps one definition (the running one, else the one the inventory and the latest move name),
undefines the others (their disks stay), and restores the autostart the VM had.
"""

from __future__ import annotations

from bot import lookup
from bot.checks import Refused, refusing
from bot.context import Context, Plan, Progress
from bot.parser import Command
from bot.results import Done, Outcome, Reply, failed, refused
from hypervisor.errors import HypervisorError, WrongState
from hypervisor.migration import committed_host
from hypervisor.model import VM
from inventory import Inventory
from inventory.journal import Journal, Operation


def refuse_strays(name: str, copies: list[VM], action: str) -> None:
    """Raise WrongState if `name` runs nowhere but is defined on two or more hosts."""
    if len(copies) > 1 and not any(vm.state.active for vm in copies):
        raise WrongState(name, f"defined on {_where(copies)}", action,
                         f"granja cannot tell which copy is current: say 'repair {name}' first, which keeps "
                         "one definition and removes the others (disks are not touched).")


@refusing
def repair(ctx: Context, cmd: Command) -> Plan | Reply:
    """Plan keeping one definition of a VM defined on several hosts and undefining the others."""
    name = lookup.vm_record(ctx, cmd.args["vm"]).name
    copies, unreachable = ctx.farm.definitions(name)
    silent = (f" ({', '.join(sorted(unreachable))} did not answer and may hold another copy.)"
              if unreachable else "")
    if not copies:
        raise Refused(f"No answering host holds a definition of {name}; nothing to repair.{silent}")
    if len(copies) == 1:
        only = copies[0]
        text = f"{name} is defined only on {only.host} ({only.state.value}); nothing to repair.{silent}"
        return Reply(Outcome.OK, Done(vm=copies[0], action="repair", summary=text, seconds=0.0), text,
                     vm=name, hosts=(copies[0].host,))
    keep, why = _current(ctx, name, copies)
    drop = [vm for vm in copies if vm.host != keep.host]
    autostart = any(vm.autostart for vm in copies)
    restore = autostart and not keep.autostart
    preview = (f"repair {name}: keep its {keep.state.value} definition on {keep.host} ({why}); undefine "
               + "; ".join(f"the {vm.state.value} copy on {vm.host}" for vm in drop)
               + " (disks are not touched)" + (f"; turn autostart back on on {keep.host}" if restore else "")
               + silent)

    def run(progress: Progress) -> Reply:
        now, _silent = ctx.farm.definitions(name)
        if _shape(now) != _shape(copies):
            return refused(f"{name}'s definitions changed since the preview (now: {_where(now) or 'none'}); "
                           f"nothing was done. Say 'repair {name}' again.", vm=name)
        removed: list[str] = []
        for vm in drop:
            try:
                ctx.farm.call(vm.host, lambda d: d.undefine(name))
            except HypervisorError as exc:
                return _partly(ctx, cmd, keep, removed, f"{exc} Its copy on {vm.host} is still defined.")
            removed.append(vm.host)
            progress(f"undefined the {vm.state.value} copy of {name} on {vm.host}")
        kept = keep
        if restore:
            try:
                kept = ctx.farm.call(keep.host, lambda d: d.set_autostart(name, True))
            except HypervisorError as exc:
                return _partly(ctx, cmd, keep, removed, f"Autostart could not be turned on ({exc}).")
        ctx.inventory.record_vm(kept, at=ctx.now(), command=cmd.canonical(), user=ctx.user, strays=())
        summary = (f"{name} repaired: kept its {kept.state.value} definition on {kept.host}; undefined "
                   f"the copies on {', '.join(removed)} (disks kept)"
                   + ("; autostart is on again." if restore else "."))
        done = Done(vm=kept, action="repair", summary=summary, seconds=0.0)
        return Reply(Outcome.OK, done, summary, vm=name, hosts=(kept.host, *removed))

    return Plan(preview=preview, vm=name, hosts=(keep.host, *(vm.host for vm in drop)), run=run)


def _current(ctx: Context, name: str, copies: list[VM]) -> tuple[VM, str]:
    """The definition to keep, and why (see `current_copy`); refuses when nothing says which."""
    active = [vm for vm in copies if vm.state.active]
    if len(active) > 1:
        raise Refused(f"{name} is running on {', '.join(vm.host for vm in active)}: two running copies of "
                      f"one VM corrupt its shared disks. Shut one of them down on its host first; granja "
                      f"will not choose which.")
    chosen = current_copy(ctx.inventory, Journal.of_state(ctx.inventory.directory), name, copies)
    if chosen is None:
        raise Refused(f"{name} runs nowhere and is defined on {_where(copies)}; neither the inventory nor "
                      f"its history says which copy is current. Start nothing; ask an admin to compare them.")
    return chosen


def current_copy(inventory: Inventory, journal: Journal, name: str, copies: list[VM], *,
                 interrupted: Operation | None = None) -> tuple[VM, str] | None:
    """Which of a VM's definitions is current, and why; None when nothing says (or two copies run).

    The running copy; else, if the newest operation naming the VM was cut short (`interrupted`, or
    the journal's), the copy its steps say it had made current (hypervisor.migration.committed_host);
    else where its latest placement change put it; else where the inventory has it. The report of an
    interrupted operation records its VMs by this rule, and `repair` keeps by it, so both agree
    whichever command looked at the VM first.
    """
    active = [vm for vm in copies if vm.state.active]
    if active:
        return (active[0], "the running one") if len(active) == 1 else None
    hosts = {vm.host: vm for vm in copies}
    operation = interrupted or journal.latest(name)
    if operation is not None and operation.outcome in ("", "interrupted"):
        committed = committed_host(operation.steps, name)
        if committed is not None and committed[0] in hosts:
            host, moved = committed
            return hosts[host], (f"where the interrupted '{operation.command}' had moved it" if moved else
                                 f"where it ran before the interrupted '{operation.command}', which had not "
                                 f"started it on its new host")
    moves = [c for c in inventory.changes(vm=name, limit=50) if c.kind == "placement"]
    if moves and moves[0].new in hosts:
        return hosts[moves[0].new], f"where its latest change, '{moves[0].command}', put it"
    record = inventory.vm(name)
    if record is not None and record.vm.host in hosts:
        return hosts[record.vm.host], "where the inventory has it"
    return None


def _partly(ctx: Context, cmd: Command, keep: VM, removed: list[str], problem: str) -> Reply:
    if removed:
        ctx.inventory.record_vm(keep, at=ctx.now(), command=cmd.canonical(), user=ctx.user)
    done = f" Undefined so far: the copies on {', '.join(removed)}." if removed else " Nothing was undefined."
    return failed(f"Repair of {keep.name} stopped: {problem}{done} Say 'repair {keep.name}' again.",
                  vm=keep.name, hosts=(keep.host, *removed))


def _shape(copies: list[VM]) -> list[tuple[str, bool]]:
    """Where a VM is defined and whether each copy runs: what a repair's preview relied on."""
    return sorted((vm.host, vm.state.active) for vm in copies)


def _where(copies: list[VM]) -> str:
    return ", ".join(f"{vm.host} ({vm.state.value})" for vm in sorted(copies, key=lambda v: v.host))
