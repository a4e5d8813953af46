"""Commands that change how a host treats a VM: autostart at boot, and power-off/crash policies."""

from __future__ import annotations

from collections.abc import Callable

from bot.changes import current_vm, state_after_failure
from bot.context import Context, Plan, Progress
from bot.parser import Command
from bot.results import Done, Outcome, Reply, Text, refused
from hypervisor.errors import HypervisorError
from hypervisor.model import VM
from hypervisor.policies import check_policy, with_policy


def autostart(ctx: Context, cmd: Command) -> Reply | Plan:
    """Plan turning a VM's autostart on or off (whether its host starts it at boot)."""
    vm = current_vm(ctx, cmd)
    on = cmd.args["switch"] == "on"
    word = "on" if on else "off"
    if vm.autostart == on:
        return refused(f"Autostart of {vm.name} is already {word}; nothing to change.", vm=vm.name)

    def run(progress: Progress) -> Reply:
        after = _apply(ctx, cmd, vm, lambda: ctx.farm.call(vm.host, lambda d: d.set_autostart(vm.name, on)))
        if isinstance(after, Reply):
            return after
        when = "will start" if on else "will no longer start"
        return _done(vm, after, f"{vm.name} {when} when {vm.host} boots (autostart {word}).")

    return Plan(preview=f"turn autostart {word} for {vm.name} on {vm.host}", vm=vm.name,
                hosts=(vm.host,), run=run)


def policy(ctx: Context, cmd: Command) -> Reply | Plan:
    """Plan setting what the host does when the VM powers off or crashes."""
    event, action = cmd.args["event"], cmd.args["action"]
    problem = check_policy(event, action)
    vm = current_vm(ctx, cmd)
    if problem is not None:
        return refused(f"Cannot set {event} of {vm.name}: {problem}", vm=vm.name)
    old = getattr(vm, event)
    if old == action:
        return refused(f"{event} of {vm.name} is already {action}; nothing to change.", vm=vm.name)

    def change() -> VM:
        xml = ctx.farm.call(vm.host, lambda d: d.domain_xml(vm.name))
        return ctx.farm.call(vm.host, lambda d: d.define(with_policy(xml, event, action)))

    def run(progress: Progress) -> Reply:
        after = _apply(ctx, cmd, vm, change)
        if isinstance(after, Reply):
            return after
        later = " (from its next start)" if vm.state.active else ""
        return _done(vm, after, f"{vm.name}: {event} is now {action}{later}, was {old}.")

    return Plan(preview=f"set {event} of {vm.name} on {vm.host}: {old} → {action}", vm=vm.name,
                hosts=(vm.host,), run=run)


def _apply(ctx: Context, cmd: Command, vm: VM, change: Callable[[], VM]) -> VM | Reply:
    """Run a change; record the VM it gives back, or say where the VM is after a failure."""
    try:
        after: VM = change()
    except HypervisorError as exc:
        message = f"{exc} {state_after_failure(ctx, vm, exc)}"
        return Reply(Outcome.FAILED, Text(message), message, vm=vm.name, hosts=(vm.host,))
    ctx.inventory.record_vm(after, at=ctx.now(), command=cmd.canonical(), user=ctx.user)
    return after


def _done(vm: VM, after: VM, summary: str) -> Reply:
    return Reply(Outcome.OK, Done(vm=after, action="settings", summary=summary, seconds=0.0), summary,
                 vm=vm.name, hosts=(vm.host,))
