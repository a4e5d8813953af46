"""Where a VM is (`where`), and reading a VM live from the host the inventory has it on.

`where` answers from the inventory, checked live on that host, and searches the farm if the VM moved
(or if the inventory knows it runs on another host too). What a search finds of the VM's other
copies is recorded, so `check` names a stray as soon as any command has seen it.
Its module imports only what that takes: the question is asked often, by people and by scripts.
"""

from __future__ import annotations

from bot import lookup
from bot.context import Context
from bot.parser import Command
from bot.reply import Located, Outcome, Reply, Text, ok
from hypervisor.errors import HypervisorError
from hypervisor.farm import Location
from hypervisor.model import VM
from inventory import VMRecord
from inventory.natural import natural_key


def live_vm(ctx: Context, record: VMRecord) -> tuple[VM | None, HypervisorError | None]:
    """Read a VM from the host the inventory has it on: (VM or None, the error if the host failed)."""
    try:
        return ctx.farm.call(record.vm.host, lambda d: d.find_vm(record.vm.name)), None
    except HypervisorError as exc:
        return None, exc


def remember(ctx: Context, vm: VM, command: Command, found: Location | None = None) -> None:
    """Record a VM as just seen, if it differs from what the inventory holds.

    With `found` (a search of every host), also which other hosts hold a copy and where one runs too.
    """
    known = ctx.inventory.vm(vm.name)
    strays, running = _copies(known, found) if found is not None and found.searched else (None, ())
    if known is None or known.vm != vm or known.stale_since is not None:
        ctx.inventory.record_vm(vm, at=ctx.now(), command=command.canonical(), user=ctx.user, strays=strays,
                                running=running)
    elif strays is not None:
        ctx.inventory.note_copies(vm.name, strays=strays, running=running)


def note_copies(ctx: Context, found: Location) -> None:
    """Record what a search of every host found of a known VM's other copies; nothing else of it.

    Only where the copy found current is the one the inventory records (else `where` corrects it).
    """
    known = ctx.inventory.vm(found.vm.name) if found.vm is not None else None
    if known is not None and found.searched and found.vm is not None and found.vm.host == known.vm.host:
        strays, running = _copies(known, found)
        ctx.inventory.note_copies(known.name, strays=strays, running=running)


def _copies(known: VMRecord | None, found: Location) -> tuple[list[str], list[str]]:
    """The stray hosts and those running a copy too: as found, plus what is known of hosts not answering."""
    silent = found.unreachable
    strays = set(found.strays).union(h for h in (known.strays if known else ()) if h in silent)
    running = set(found.running).union(h for h in (known.running_elsewhere if known else ()) if h in silent)
    host = found.vm.host if found.vm is not None else ""
    return (sorted(strays - {host}, key=natural_key), sorted(running & strays - {host}, key=natural_key))


def where(ctx: Context, cmd: Command) -> Reply:
    """Tell where a VM runs: from the inventory, checked live, searched farm-wide if it moved."""
    name = cmd.args["vm"]
    record = lookup.find_record(ctx, name)
    if record is not None:
        vm, error = live_vm(ctx, record)
        if error is not None:
            located = Located(vm=record.vm, live=False, last_seen=record.last_seen,
                              unreachable_reason=getattr(error, "reason", str(error)))
            return ok(located, f"{record.vm.name} last seen on {record.vm.host}", vm=record.vm.name,
                      hosts=(record.vm.host,))
        if vm is not None and vm.state.active and not record.running_elsewhere:
            remember(ctx, vm, cmd)
            return ok(Located(vm=vm, live=True), f"{vm.name} is on {vm.host}", vm=vm.name, hosts=(vm.host,))
    found = ctx.farm.find(record.vm.name if record else name, prefer=record.vm.host if record else None)
    if found.vm is None:
        return _nowhere(ctx, cmd, name, record, found.unreachable)
    remember(ctx, found.vm, cmd, found)
    moved_from = record.vm.host if record and record.vm.host != found.vm.host else ""
    located = Located(vm=found.vm, live=True, corrected_from=moved_from, strays=found.strays,
                      running=found.running)
    return ok(located, f"{found.vm.name} is on {found.vm.host}", vm=found.vm.name,
              hosts=(found.vm.host, *found.running))


def _nowhere(ctx: Context, cmd: Command, name: str, record: VMRecord | None,
             unreachable: dict[str, str]) -> Reply:
    if record is None:
        raise lookup.unknown("VM", name, ctx.inventory.vm_names())
    silent = ", ".join(sorted(unreachable))
    if silent:
        message = (f"No answering host has {record.vm.name} now; it was last seen on {record.vm.host}. "
                   f"Not answering: {silent}.")
    else:
        ctx.inventory.forget_vm(record.vm.name, at=ctx.now(), command=cmd.canonical(), user=ctx.user)
        message = (f"No host has {record.vm.name} any more (last seen on {record.vm.host}); "
                   "it is removed from the inventory.")
    return Reply(Outcome.FAILED, Text(message), message, vm=record.vm.name)
