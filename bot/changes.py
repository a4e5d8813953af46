"""Commands that change the farm: lifecycle actions and migration, each checked before it is confirmed."""

from __future__ import annotations

from collections.abc import Callable

from bot import lookup, resilience, strays
from bot.context import Context, Plan, Progress
from bot.locate import live_vm, remember
from bot.parser import Command
from bot.results import Done, Outcome, Reply, Text, interrupted, refused
from bot.vmlocks import host_key
from hypervisor import lifecycle as rules
from hypervisor.errors import HypervisorError, Interrupted, MigrationFailed
from hypervisor.farm import locate
from hypervisor.migration import migrate as carry_out
from hypervisor.migration import plan_migration
from hypervisor.model import VM, gib
from hypervisor.placement import Guest
from hypervisor.resilience import Proposal

_PAST = {"start": "started", "shutdown": "shut down", "destroy": "forced off", "reboot": "rebooted",
         "suspend": "paused", "resume": "resumed", "save": "saved to disk"}


def current_vm(ctx: Context, cmd: Command) -> VM:
    """The VM as its host reports it now; follows it if it moved; raises if its host is silent."""
    record = lookup.vm_record(ctx, cmd.args["vm"])
    vm, error = live_vm(ctx, record)
    if error is not None:
        raise error
    found = None
    # It may run elsewhere, be defined on two hosts, or (as the inventory knows) run on two at once.
    if vm is None or not vm.state.active or record.running_elsewhere:
        copies, silent = ctx.farm.definitions(record.vm.name)
        found = locate(record.vm.name, copies, silent, prefer=record.vm.host)
        if found.vm is not None:
            remember(ctx, found.vm, cmd, found)  # what was learnt of its copies, even if refused below
        strays.refuse_strays(record.vm.name, copies, cmd.name)
        vm = found.vm or vm
    if vm is None:
        raise lookup.unknown("VM", cmd.args["vm"], ctx.inventory.vm_names())
    if found is None:
        remember(ctx, vm, cmd)
    return vm


def state_after_failure(ctx: Context, vm: VM, exc: HypervisorError) -> str:
    """One sentence saying where the VM is after a failed change, read live."""
    try:
        now = ctx.farm.call(vm.host, lambda d: d.find_vm(vm.name))
    except HypervisorError:
        return f"{vm.name} was {vm.state.value} on {vm.host} before; {vm.host} is not answering now."
    if now is None:
        return f"{vm.name} is no longer listed on {vm.host}."
    remember(ctx, now, Command("show", {"vm": vm.name}))
    return f"{vm.name} is {now.state.value} on {vm.host}."


def lifecycle(ctx: Context, cmd: Command) -> Plan | Reply:
    """Plan a start, shutdown, destroy, reboot, suspend, resume or save; a VM already there is done."""
    action = cmd.name
    vm = current_vm(ctx, cmd)
    if rules.already(vm.state, action):
        message = f"{vm.name} is already {vm.state.value} on {vm.host}; nothing was changed."
        return Reply(Outcome.OK, Text(message), message, vm=vm.name, hosts=(vm.host,),
                     extra={"changed": "no"})
    rules.check(vm.name, vm.state, action)

    def run(progress: Progress) -> Reply:
        try:
            after = ctx.farm.lifecycle(vm.host, vm.name, action)
        except HypervisorError as exc:
            message = f"{exc} {state_after_failure(ctx, vm, exc)}"
            return Reply(Outcome.FAILED, Text(message), message, vm=vm.name, hosts=(vm.host,))
        ctx.inventory.record_vm(after, at=ctx.now(), command=cmd.canonical(), user=ctx.user)
        summary = f"{vm.name} {_PAST[action]} on {vm.host}: now {after.state.value}."
        return Reply(Outcome.OK, Done(vm=after, action=action, summary=summary, seconds=0.0), summary,
                     vm=vm.name, hosts=(vm.host,))

    preview = f"{action} {vm.name} on {vm.host} (now {vm.state.value})"
    return Plan(preview=preview, vm=vm.name, hosts=(vm.host,), run=run, destructive=cmd.spec.destructive)


def migrate(ctx: Context, cmd: Command, vm: VM, target: str, *, why: tuple[str, ...] = (),
            force: bool = False, recheck: Callable[[], str] | None = None) -> Plan:
    """Plan a migration: target checked, method chosen, before anything moves; `why` the choice.

    It holds the VM and the target host; `recheck`, run once both are held, says what changed since
    the preview ("" when nothing did), and then nothing moves.
    """
    plan = plan_migration(ctx.farm, vm, target, force=force)

    def run(progress: Progress) -> Reply:
        if recheck is not None and (what := recheck()):
            return refused(what, vm=vm.name, hosts=(plan.source, target))
        try:
            moved = carry_out(ctx.farm, plan, progress, should_stop=ctx.should_stop)
        except Interrupted as exc:
            return interrupted(str(exc), vm=vm.name, hosts=(plan.source, target))
        except MigrationFailed as exc:
            message = f"{exc} {state_after_failure(ctx, vm, exc)}"
            return Reply(Outcome.FAILED, Text(message), message, vm=vm.name, hosts=(plan.source, target))
        ctx.inventory.record_vm(moved.vm, at=ctx.now(), command=cmd.canonical(), user=ctx.user)
        summary = (f"{vm.name} moved from {plan.source} to {target} ({plan.method}, "
                   f"{moved.seconds:.1f} s): now {moved.vm.state.value} on {moved.vm.host}.")
        # The preview gave the reasons, in the future tense; the result says only what happened.
        notes = (f"Warning: {moved.warning}",) if moved.warning else ()
        done = Done(vm=moved.vm, action="migrate", summary=summary, seconds=moved.seconds, notes=notes)
        return Reply(Outcome.OK, done, summary, vm=vm.name, hosts=(plan.source, target))

    memory = f"{gib(vm.memory_mib)} RAM"
    preview = (f"migrate {vm.name} {plan.source} → {target}, {plan.method} ({plan.reason}), "
               f"{memory}; {target} has {gib(plan.target_free_mib)} free"
               + "".join(f"\n  {line}" for line in why)
               + resilience.what_if(ctx, Proposal(guest=Guest.of(vm), to=target)))
    return Plan(preview=preview, vm=vm.name, hosts=(plan.source, target), run=run,
                holds=(vm.name, host_key(target)))
