"""VMs defined on more than one host (strays): found live before acting, resolved only by `repair`.

A stray is an extra definition of a VM on another host, left by an interrupted move, a crash,
or a recovery whose dead host came back. Commands that act on a VM call `refuse_strays` first:
a VM running somewhere is acted on there (its shut-off copies are never moved or started), and
a VM that runs nowhere but is defined on two hosts is refused, naming `repair`, and so is one
running on two hosts at once. `repair VM` keeps one definition (`current_copy`: the running one,
else the one an interrupted move's journal, the latest move or the inventory names), undefines the
others (their disks stay), and restores the autostart the VM had. `repair VM keep HOST` keeps the
copy on HOST: for a VM running on two hosts, the other copy is powered off, then undefined.
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
from inventory.twice_words import running_twice_message


def refuse_strays(name: str, copies: list[VM], action: str) -> None:
    """Raise WrongState if `name` runs on two hosts at once, or nowhere but is defined on two or more."""
    active = [vm for vm in copies if vm.state.active]
    if len(active) > 1:
        raise WrongState(name, f"running on {_where(active)}", action,
                         f"{running_twice_message(name, (vm.host for vm in active))}.")
    if len(copies) > 1 and not active:
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
    keep, why = _chosen(ctx, cmd, name, copies) if cmd.args.get("host") else _current(ctx, name, copies)
    drop = [vm for vm in copies if vm.host != keep.host]
    autostart = any(vm.autostart for vm in copies)
    restore = autostart and not keep.autostart
    preview = (f"{cmd.canonical()}: keep its {keep.state.value} definition on {keep.host} ({why}); "
               + "; ".join(f"power off and undefine the running copy on {vm.host}" if vm.state.active else
                           f"undefine the {vm.state.value} copy on {vm.host}" for vm in drop)
               + " (disks are not touched)" + (f"; turn autostart back on on {keep.host}" if restore else "")
               + silent)

    def run(progress: Progress) -> Reply:
        now, _silent = ctx.farm.definitions(name)
        if _shape(now) != _shape(copies):
            return refused(f"{name}'s definitions changed since the preview (now: {_where(now) or 'none'}); "
                           f"nothing was done. Say '{cmd.canonical()}' again.", vm=name)
        removed: list[str] = []
        powered: list[str] = []
        for vm in drop:
            try:
                if vm.state.active:  # a second running copy: off first (the kept one runs on)
                    ctx.farm.call(vm.host, lambda d: d.lifecycle(name, "destroy"))
                    powered.append(vm.host)
                    progress(f"powered off the copy of {name} on {vm.host}")
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
        plain = [host for host in removed if host not in powered]
        done_to = [f"powered off and undefined the copy on {host}" for host in powered]
        done_to += [f"undefined the copies on {', '.join(plain)}"] if plain else []
        summary = (f"{name} repaired: kept its {kept.state.value} definition on {kept.host}; "
                   + "; ".join(done_to) + " (disks kept)" + ("; autostart is on again." if restore else "."))
        done = Done(vm=kept, action="repair", summary=summary, seconds=0.0)
        return Reply(Outcome.OK, done, summary, vm=name, hosts=(kept.host, *removed))

    return Plan(preview=preview, vm=name, hosts=(keep.host, *(vm.host for vm in drop)), run=run)


def _chosen(ctx: Context, cmd: Command, name: str, copies: list[VM]) -> tuple[VM, str]:
    """The definition the operator named (`repair VM keep HOST`); never a shut-off one while another runs."""
    host = lookup.host_name(ctx, cmd.args["host"])
    keep = next((vm for vm in copies if vm.host == host), None)
    if keep is None:
        raise Refused(f"{name} is not defined on {host}; it is defined on {_where(copies)}. Name one of "
                      f"those: 'repair {name} keep HOST'.")
    active = [vm for vm in copies if vm.state.active]
    if active and not keep.state.active:
        raise Refused(f"{name} runs on {', '.join(vm.host for vm in active)}, not on {host}: keeping its "
                      f"{keep.state.value} copy would stop it. Say 'repair {name}' to keep the running one.")
    return keep, "as asked"


def _current(ctx: Context, name: str, copies: list[VM]) -> tuple[VM, str]:
    """The definition to keep, and why (see `current_copy`); refuses when nothing says which."""
    active = [vm for vm in copies if vm.state.active]
    if len(active) > 1:
        raise Refused(f"{running_twice_message(name, (vm.host for vm in active))}. granja will not choose "
                      "which copy to keep.")
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
