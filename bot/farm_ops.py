"""Running the farm: migrate by placement, evacuate, maintenance marks, crash recovery and `check`."""

from __future__ import annotations

from bot import changes, lookup
from bot.changes import current_vm, state_after_failure
from bot.context import Context, Plan, Progress
from bot.parser import Command
from bot.queries import ok
from bot.results import FindingList, HostEmptied, Outcome, Reply, Text, refused
from bot.vmlocks import host_key
from bot.watch.inventory_view import inventory_conditions, rules_of
from hypervisor.errors import HostUnreachable
from hypervisor.evacuation import Carried, Evacuation, plan_evacuation
from hypervisor.evacuation import evacuate as carry_out
from hypervisor.model import VM, gib
from hypervisor.placement import FarmLoad, Guest, choose_host
from hypervisor.recovery import plan_recovery, restart_elsewhere
from inventory.health import Finding, findings
from inventory.load import farm_load

# Placement rules an operator may overrule with 'force'; an unreachable host is not one of them.
FORCEABLE = ("spread", "maintenance", "memory", "vcpus")


def load_of(ctx: Context) -> FarmLoad:
    """The farm's load from the inventory, with the config's commitment limits."""
    return farm_load(ctx.inventory, limits=ctx.config.placement.limits)


def migrate(ctx: Context, cmd: Command) -> Plan | Reply:
    """Plan a migration: to the best host when none is named, else to the one named, checked."""
    vm = current_vm(ctx, cmd)
    load = load_of(ctx)
    guest = Guest.of(vm)
    if "host" not in cmd.args:
        choice = choose_host(guest, load)
        if choice.host is None:
            message = f"No host can take {vm.name} now: " + "; ".join(choice.reasons[1:]) + "."
            return refused(message, vm=vm.name)
        return changes.migrate(ctx, cmd, vm, choice.host, why=("Chosen: " + choice.reasons[0],
                                                                *choice.reasons[1:]))
    target = lookup.host_name(ctx, cmd.args["host"])
    problems: list[str] = []
    if target in load.rooms and target != vm.host:  # else plan_migration says what is wrong
        problems = [text for kind, text in load.problems(guest, target) if kind in FORCEABLE]
    if problems and "force" not in cmd.args:
        message = (f"Not moving {vm.name} to {target}: " + "; ".join(problems) + ". To move it anyway, "
                   f"say 'migrate {vm.name} to {target} force'" + _suggestion(vm, load) + ".")
        return refused(message, vm=vm.name)
    why = tuple(f"FORCED although {text}" for text in problems)
    return changes.migrate(ctx, cmd, vm, target, why=why, force="force" in cmd.args)


def _suggestion(vm: VM, load: FarmLoad) -> str:
    choice = choose_host(Guest.of(vm), load)
    return f", or 'migrate {vm.name}' to let granja choose ({choice.host} now)" if choice.host else ""


def maintenance(ctx: Context, cmd: Command) -> Plan | Reply:
    """Plan marking a host in maintenance (kept out of new placements) or clearing the mark."""
    host = lookup.host_name(ctx, cmd.args["host"])
    on = cmd.args["mode"].lower() == "on"
    mark = ctx.inventory.maintenance().get(host)
    if (mark is not None) == on:
        state = (f"in maintenance since {mark.since:%Y-%m-%d %H:%M} UTC (by {mark.by})" if mark
                 else "not in maintenance")
        text = f"{host} is already {state}; nothing to do."
        return ok(Text(text), text, hosts=(host,))
    held = len(ctx.inventory.vms_on(host))
    vms = "its 1 VM stays" if held == 1 else f"its {held} VMs stay"
    effect = (f"new placements avoid {host}; {vms} until 'evacuate {host}'" if on
              else f"{host} may receive VMs again")
    preview = f"maintenance {host} {'on' if on else 'off'}: {effect}"

    def run(progress: Progress) -> Reply:
        ctx.inventory.set_maintenance(host, on=on, at=ctx.now(), user=ctx.user)
        text = f"{host} is {'now in maintenance' if on else 'out of maintenance'}: {effect}."
        return ok(Text(text), text, hosts=(host,))

    return Plan(preview=preview, vm="", hosts=(host,), run=run, holds=(host_key(host),))


def evacuate(ctx: Context, cmd: Command) -> Plan | Reply:
    """Plan moving every VM off a host; after confirmation mark it in maintenance and move them."""
    host = lookup.host_name(ctx, cmd.args["host"])
    try:
        vms = ctx.farm.call(host, lambda d: d.list_vms())
    except HostUnreachable as exc:
        message = f"{exc} Nothing was changed. If {host} is down, 'recover {host}' starts its VMs elsewhere."
        return Reply(Outcome.FAILED, Text(message), message, hosts=(host,))
    if not vms:
        text = f"{host} holds no VMs; nothing to move."
        return ok(Text(text), text, hosts=(host,))
    pinned = {vm.name for vm in vms if ctx.config.pinned_host(vm.name) == host}
    plan = plan_evacuation(host, vms, load_of(ctx), pinned=pinned)
    if not plan.moves:
        return refused(f"Nothing can move off {host}:\n" + _plan_lines(plan, "move"), hosts=(host,))

    def run(progress: Progress) -> Reply:
        ctx.inventory.set_maintenance(host, on=True, at=ctx.now(), user=ctx.user)
        done = carry_out(ctx.farm, plan, progress, record=lambda vm: _record(ctx, cmd, vm))
        return _emptied(ctx, plan, done, verb="moved", what="Evacuation")

    preview = (f"evacuate {host}: mark it in maintenance, then move {len(plan.moves)} of its "
               f"{len(vms)} VMs one at a time\n" + _plan_lines(plan, "move"))
    return Plan(preview=preview, vm="", hosts=(host,), run=run, holds=_holds(plan))


def recover(ctx: Context, cmd: Command) -> Plan | Reply:
    """Plan starting a down host's running VMs elsewhere; refused while the host answers."""
    host = lookup.host_name(ctx, cmd.args["host"])
    try:
        ctx.farm.call(host, lambda d: d.describe())
    except HostUnreachable as exc:
        reason = exc.reason
    else:
        return refused(f"{host} answers: it is not down, so there is nothing to recover. "
                       f"To empty a running host, use 'evacuate {host}'.", hosts=(host,))
    records = ctx.inventory.vms_on(host)
    running = [r.vm for r in records if r.vm.state.active]
    if not running:
        text = f"No VM was running on {host} when it was last seen; nothing to recover."
        return ok(Text(text), text, hosts=(host,))
    pinned = {vm.name for vm in running if ctx.config.pinned_host(vm.name) == host}
    plan = plan_recovery(host, running, load_of(ctx), shared_pools=ctx.config.placement.shared_pools,
                         pinned=pinned)
    if not plan.moves:
        return refused(f"No VM of {host} can be started elsewhere:\n" + _plan_lines(plan, "start"),
                       hosts=(host,))

    def run(progress: Progress) -> Reply:
        if _answers(ctx, host):  # it came back while the preview waited: its VMs may be running there
            return refused(f"{host} answers again: nothing was started elsewhere. Its VMs may be running "
                           f"there; 'refresh' shows them, and 'evacuate {host}' empties it.", hosts=(host,))
        ctx.inventory.record_host_unreachable(host, reason=reason, at=ctx.now())
        done = restart_elsewhere(ctx.farm, plan, progress, record=lambda vm: _record(ctx, cmd, vm))
        names = ", ".join(m.vm.name for m in done.moved)
        notes = (f"{host} still holds definitions of {names}: before it boots again, keep it from "
                 f"starting them (autostart), then undefine them there; 'refresh' lists them as strays.",
                 ) if names else ()
        return _emptied(ctx, plan, done, verb="started", what="Recovery", notes=notes)

    preview = (f"recover {host}, which is not answering ({reason}). CONFIRM ONLY IF {host} IS REALLY "
               f"OFF (powered off or fenced): one guest running on two hosts corrupts its shared "
               f"disks.\n" + _plan_lines(plan, "start"))
    return Plan(preview=preview, vm="", hosts=(host,), run=run, destructive=True, holds=_holds(plan))


def _answers(ctx: Context, host: str) -> bool:
    """Whether the host answers now."""
    try:
        ctx.farm.call(host, lambda d: d.describe())
    except HostUnreachable:
        return False
    return True


def check(ctx: Context, cmd: Command) -> Reply:
    """What needs attention, from the inventory: the watcher's conditions, then capacity and the rest."""
    conditions = inventory_conditions(ctx.inventory, rules_of(ctx.config), now=ctx.now())
    found = [(Finding(c.kind, c.subject, c.message), c.severity.word) for c in conditions]
    found += [(f, HEALTH_SEVERITY[f.kind])
              for f in findings(ctx.inventory, limits=ctx.config.placement.limits, now=ctx.now())
              if f.kind in HEALTH_SEVERITY]
    body = FindingList(tuple(f for f, _ in found), tuple(s for _, s in found))
    return ok(body, f"{len(found)} findings")


# What `check` adds to the watcher's conditions from inventory.health, with severities. The rest of
# health's kinds (spread, unreachable, stray, drift) are the watcher's own, in the watcher's words.
HEALTH_SEVERITY = {"memory": "warning", "vcpus": "warning", "stale": "warning", "maintenance": "info",
                   "autostart": "info"}


def _holds(plan: Evacuation) -> tuple[str, ...]:
    """The host and every VM the plan moves: no other operation may touch them while it runs."""
    return (host_key(plan.host), *(move.vm.name for move in plan.moves))


def _record(ctx: Context, cmd: Command, vm: VM) -> None:
    ctx.inventory.record_vm(vm, at=ctx.now(), command=cmd.canonical(), user=ctx.user)


def _plan_lines(plan: Evacuation, verb: str) -> str:
    lines = [f"  {verb} {m.vm.name} ({m.vm.state.value}, {gib(m.vm.memory_mib)}) → {m.target}"
             + (f" ({m.method})" if m.method != "restart" else "") for m in plan.moves]
    lines += [f"  stays {s.vm.name}: {s.reason}" for s in plan.stuck]
    return "\n".join(lines)


def _emptied(ctx: Context, plan: Evacuation, done: Carried, *, verb: str, what: str,
             notes: tuple[str, ...] = ()) -> Reply:
    failed = None
    if done.failed is not None:
        move, error = done.failed
        where = (state_after_failure(ctx, move.vm, error) if verb == "moved" else
                 f"{move.vm.name} is not running anywhere: {plan.host} is down, and granja left no "
                 f"definition of it on {move.target}.")
        failed = (move.vm.name, f"{error} {where}")
    ended = "stopped at a failure" if failed else "done"
    title = (f"{what} of {plan.host} {ended}: {len(done.moved)} {verb}, "
             f"{len(done.not_tried)} not tried, {len(plan.stuck)} staying.")
    body = HostEmptied(
        host=plan.host, title=title, verb=verb, failed=failed,
        moved=tuple((m.vm.name, m.target, m.method) for m in done.moved),
        not_tried=tuple(m.vm.name for m in done.not_tried),
        stays=tuple((s.vm.name, s.reason) for s in plan.stuck), notes=notes,
    )
    outcome = Outcome.FAILED if failed else Outcome.OK
    # Each VM that left (or failed to) finds this entry under 'audit VM'.
    touched = [m.vm.name for m in done.moved] + ([failed[0]] if failed else [])
    return Reply(outcome, body, title, hosts=(plan.host, *sorted({m.target for m in plan.moves})),
                 extra={"vms": ",".join(touched)} if touched else {})
