"""`rolling reboot|restart CLUSTER`, `rolling migrate CLUSTER off HOST…`: one preview, then member by member.

The plan is made from the members as their hosts report them now; how many may be down at
once comes from `max N down` (default 1) and the cluster's `min_running` (`fleet.rolling_floor`:
one member may always be down for the run, which the watcher does not count as missing). Each member's turn
gets an audit entry of its own, besides the run's.
"""

from __future__ import annotations

import re
from typing import Literal

from bot import lookup
from bot.context import Context, Plan, Progress
from bot.fleet import rolling_floor
from bot.parser import Command
from bot.rechecks import changed, disk_now_only_here, disk_only_here, load_of
from bot.results import Outcome, Reply, RollingRun, refused
from bot.vmlocks import host_key
from hypervisor.errors import HypervisorError
from hypervisor.model import VM, VMState
from hypervisor.placement import Guest, choose_host
from hypervisor.rolling import Rolled, RollingPlan, Step, roll
from inventory import AuditEntry


def rolling(ctx: Context, cmd: Command) -> Plan | Reply:
    """Plan a rolling run over a cluster's members, refused when the cluster cannot spare them."""
    cluster = lookup.cluster_name(ctx, cmd.args["cluster"])
    action = cmd.args["action"].lower()
    members = _members_now(ctx, cluster)
    if isinstance(members, Reply):
        return members
    down = int(cmd.args.get("count", "1"))
    spec = ctx.config.clusters.get(cluster)
    declared = spec.min_running if spec is not None else None
    floor = rolling_floor(declared, len(members))
    running = [vm for vm in members if vm.state is VMState.RUNNING]
    spare = len(running) - floor
    if down < 1:
        return refused(f"'max {down} down' takes nothing down: say at least 'max 1 down'.")
    if action != "migrate" and down > spare:
        why = (f"cluster {cluster} must keep {floor} of its {len(members)} members running"
               + (" (min_running)" if declared is not None and declared == floor
                  else " (no min_running is set: one member at a time)" if declared is None
                  else " (min_running keeps every member running: a rolling run takes one at a time)")
               + f", and {len(running)} run now")
        if spare < 1:
            return refused(f"Not rolling {cluster}: {why}, so none can be taken down. Start the "
                           f"members that are down first ('list in {cluster}').")
        return refused(f"Not rolling {cluster} with {down} down: {why}, so at most {spare} may be down "
                       f"at once. Say '{_form(cmd, spare)}'.")
    if action == "migrate":
        plan_or_reply = _moves(ctx, cluster, members, cmd.args["hosts"], down, floor)
    else:
        steps = [Step(vm) for vm in running]
        plan_or_reply = RollingPlan(cluster, action, _batches(steps, down), floor,
                                    health=spec.health if spec else None, force_off="force" in cmd.args)
    if isinstance(plan_or_reply, Reply):
        return plan_or_reply
    plan = plan_or_reply
    skipped = [vm for vm in members if vm.state is not VMState.RUNNING] if action != "migrate" else []

    def run(progress: Progress) -> Reply:
        stuck = _disks_changed(ctx, plan)
        if stuck:
            return refused(changed(stuck, f"Say '{cmd.canonical()}' again for a new preview."))
        rolled = roll(ctx.farm, plan, progress, addresses=lambda vm: _addresses(ctx, vm),
                      running_count=lambda: _running_now(ctx, cluster),
                      member_done=lambda vm, outcome, what: _member_done(ctx, cmd, vm, outcome, what),
                      should_stop=ctx.should_stop)
        return _summary(plan, rolled, skipped)

    return Plan(preview=_preview(plan, skipped), vm="", hosts=_hosts(plan), run=run,
                holds=_holds(plan))


def _disks_changed(ctx: Context, plan: RollingPlan) -> list[str]:
    """Members to move whose disks only their host is known to reach now (they changed since the preview)."""
    steps = [step for batch in plan.batches for step in batch if step.target]
    return [f"{step.vm.name}: {stuck}" for step in steps
            for stuck, _how in [disk_now_only_here(ctx, step.vm)] if stuck]


def _holds(plan: RollingPlan) -> tuple[str, ...]:
    """Every member the run touches, and the hosts it moves members onto (as a migration does)."""
    steps = [step for batch in plan.batches for step in batch]
    targets = sorted({step.target for step in steps if step.target})
    return (*(step.vm.name for step in steps), *(host_key(host) for host in targets))


def _members_now(ctx: Context, cluster: str) -> list[VM] | Reply:
    """Each member as its host reports it now; a refusal when a member's host does not answer."""
    members = []
    for record in ctx.inventory.vms_in(cluster):
        name, host = record.vm.name, record.vm.host
        try:
            vm = ctx.farm.call(host, lambda d, name=name: d.find_vm(name))  # type: ignore[misc]
        except HypervisorError as exc:
            return refused(f"Not rolling {cluster}: {exc} A rolling run needs to see every member; "
                           f"'check' shows what else is wrong.")
        members.append(vm or record.vm)
    if not members:
        return refused(f"Cluster {cluster} has no members in the inventory; 'refresh' first.")
    return members


def _moves(ctx: Context, cluster: str, members: list[VM], hosts_text: str, down: int,
           floor: int) -> RollingPlan | Reply:
    """Where each member on the hosts to empty goes, by the placement rules, counting earlier moves."""
    off = [lookup.host_name(ctx, name) for name in re.split(r"[\s,]+", hosts_text.strip()) if name]
    leaving = [vm for vm in members if vm.host in off]
    if not leaving:
        return refused(f"No member of {cluster} is on {_and(off)}: nothing to move.", hosts=tuple(off))
    load = load_of(ctx)
    steps: list[Step] = []
    for vm in leaving:
        pinned = ctx.config.pinned_host(vm.name)
        if pinned == vm.host:
            return refused(f"Not rolling {cluster}: {vm.name} is pinned to {vm.host} in the fleet config; "
                           f"'migrate {vm.name} to HOST force' moves it alone.", vm=vm.name)
        stuck, how = disk_only_here(ctx, vm)
        if stuck:
            return refused(f"Not rolling {cluster}: {vm.name} cannot move: {stuck}. {how}".rstrip(),
                           vm=vm.name)
        guest = Guest.of(vm)
        choice = choose_host(guest, load, exclude=off)
        if choice.host is None:
            return refused(f"Not rolling {cluster}: no host can take {vm.name}: "
                           + "; ".join(choice.reasons[1:]) + ".", vm=vm.name, hosts=tuple(off))
        load.remove(guest, vm.host)
        load.add(guest, choice.host)
        steps.append(Step(vm, choice.host))
    spec = ctx.config.clusters.get(cluster)
    return RollingPlan(cluster, "migrate", _batches(steps, down), floor, health=spec.health if spec else None)


def _batches(steps: list[Step], size: int) -> tuple[tuple[Step, ...], ...]:
    return tuple(tuple(steps[i:i + size]) for i in range(0, len(steps), size))


def _preview(plan: RollingPlan, skipped: list[VM]) -> str:
    per = max(len(batch) for batch in plan.batches)
    at_once = "one member at a time" if per == 1 else f"{per} members at a time"
    verb = {"reboot": "reboot", "restart": "shut down and start", "migrate": "move"}[plan.action]
    count = _count(plan)
    lines = [f"rolling {plan.action} {plan.cluster}: {verb} {count} member{'s' * (count != 1)}, {at_once}, "
             "in this order:"]
    for number, batch in enumerate(plan.batches, 1):
        lines += [f"  {number}. {step.vm.name} on {step.vm.host}"
                  + (f" → {step.target}" if step.target else "") for step in batch]
    checks = ["each member must be running again" + (" on its new host" if plan.action == "migrate" else "")]
    if plan.health is not None:
        where = plan.health.address.replace("{vm}", "MEMBER") or "its address"
        checks.append(f"answer on TCP port {plan.health.port} ({where}) within {plan.health.timeout:g} s")
    floor = (f"; before each, at least {plan.min_running} members must be running"
             if plan.action != "migrate" else "")
    lines.append("  Between members: " + ", and ".join(checks) + floor + ". Any failure stops the run.")
    if plan.force_off:
        lines.append("  A member that does not shut down in time is powered off (force).")
    if skipped:
        lines.append("  Left as they are: " + ", ".join(f"{vm.name} ({vm.state.value})" for vm in skipped))
    return "\n".join(lines)


def _summary(plan: RollingPlan, rolled: Rolled, skipped: list[VM]) -> Reply:
    failed = rolled.failed
    ended = ("stopped at a failure" if failed else f"stopped ({rolled.stopped})" if rolled.stopped
             else "done")
    title = (f"Rolling {plan.action} of {plan.cluster} {ended}: {len(rolled.done)} done"
             + (f", {len(rolled.not_tried)} not tried." if rolled.not_tried else "."))
    body = RollingRun(cluster=plan.cluster, title=title, done=tuple(rolled.done), failed=failed,
                      not_tried=tuple(rolled.not_tried),
                      left=tuple((vm.name, vm.state.value) for vm in skipped))
    outcome = (Outcome.INTERRUPTED if rolled.stopped == "interrupted" else
               Outcome.FAILED if failed or rolled.stopped else Outcome.OK)
    touched = [name for name, _ in rolled.done] + ([failed[0]] if failed else [])
    return Reply(outcome, body, title, hosts=_hosts(plan),
                 extra={"vms": ",".join(touched)} if touched else {})


def _member_done(ctx: Context, cmd: Command, vm: VM, outcome: Literal["ok", "failed"], what: str) -> None:
    """Record the member as it is now, and its own audit entry (part of the run's)."""
    if outcome == "ok":
        ctx.inventory.record_vm(vm, at=ctx.now(), command=cmd.canonical(), user=ctx.user)
    entry = AuditEntry(at=ctx.now(), user=ctx.user, channel=ctx.channel, text=cmd.canonical(),
                       outcome=outcome, command=f"{cmd.args['action'].lower()} {vm.name}", vm=vm.name,
                       hosts=(vm.host,),
                       detail=f"{vm.name}: {what}", extra={"part_of": cmd.canonical()})
    ctx.inventory.record_audit(entry)


def _addresses(ctx: Context, vm: VM) -> list[str]:
    try:
        return ctx.farm.call(vm.host, lambda d: d.addresses(vm.name))
    except HypervisorError:
        return []


def _running_now(ctx: Context, cluster: str) -> int:
    found = _members_now(ctx, cluster)
    return 0 if isinstance(found, Reply) else sum(vm.state is VMState.RUNNING for vm in found)


def _hosts(plan: RollingPlan) -> tuple[str, ...]:
    hosts = {s.vm.host for b in plan.batches for s in b} | {s.target for b in plan.batches for s in b}
    return tuple(sorted(hosts - {""}))


def _count(plan: RollingPlan) -> int:
    return sum(len(batch) for batch in plan.batches)


def _form(cmd: Command, down: int) -> str:
    text = cmd.canonical()
    return re.sub(r"max \d+ down", f"max {down} down", text) if "max" in text else text


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
