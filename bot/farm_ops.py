"""Running the farm: migrate by placement, evacuate, maintenance marks, crash recovery and `check`."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from bot import changes, lookup, rechecks, resilience
from bot.changes import current_vm, state_after_failure
from bot.context import Context, Plan, Progress
from bot.farm_check import farm_findings
from bot.locate import note_copies
from bot.parser import Command
from bot.rechecks import FORCEABLE, load_of, shared_on
from bot.reply import ok
from bot.results import FindingList, HostEmptied, Outcome, Reply, Text, refused
from bot.vmlocks import host_key
from hypervisor.consoles import reopen_notes
from hypervisor.errors import HostUnreachable
from hypervisor.evacuation import Carried, Evacuation, plan_evacuation
from hypervisor.evacuation import evacuate as carry_out
from hypervisor.farm import locate
from hypervisor.model import VM, gib
from hypervisor.placement import FarmLoad, Guest, choose_host
from hypervisor.recovery import plan_recovery, restart_elsewhere
from hypervisor.resilience import Proposal
from hypervisor.words import plural


def migrate(ctx: Context, cmd: Command) -> Plan | Reply:
    """Plan a migration: to the best host when none is named, else to the one named, checked.

    A VM pinned to its host moves only with 'force'; what the preview relied on is checked
    again at confirmation (`rechecks`).
    """
    vm = current_vm(ctx, cmd)
    stuck, how = rechecks.disk_only_here(ctx, vm)  # 'force' does not move a disk: no override
    if stuck:
        return refused(f"Not moving {vm.name}: {stuck}. {how}".rstrip(), vm=vm.name)
    target = lookup.host_name(ctx, cmd.args["host"]) if "host" in cmd.args else ""
    force = "force" in cmd.args
    pin = ctx.config.pinned_host(vm.name)
    pinned = pin == vm.host
    if pinned and not force:
        forced = f"migrate {vm.name} to {target} force" if target else f"migrate {vm.name} force"
        return refused(f"Not moving {vm.name}: it is pinned to {pin} in the fleet config. "
                       f"To move it anyway, say '{forced}'.", vm=vm.name)
    pin_note = (f"FORCED although {vm.name} is pinned to {pin} in the fleet config",) if pinned else ()
    load = load_of(ctx)
    guest = Guest.of(vm)
    if not target:
        choice = choose_host(guest, load)
        if choice.host is None:
            message = f"No host can take {vm.name} now: " + "; ".join(choice.reasons[1:]) + "."
            return refused(message, vm=vm.name)
        why = ("Chosen: " + choice.reasons[0], *choice.reasons[1:], *pin_note)
        return changes.migrate(ctx, cmd, vm, choice.host, why=why, force=force,
                               recheck=lambda: _migration_changed(ctx, cmd, vm, choice.host or "", ()))
    found: list[tuple[str, str]] = []
    if target in load.rooms and target != vm.host:  # else plan_migration says what is wrong
        found = [(kind, text) for kind, text in load.problems(guest, target) if kind in FORCEABLE]
    if found and not force:
        message = (f"Not moving {vm.name} to {target}: " + "; ".join(text for _, text in found) + ". To move "
                   f"it anyway, say 'migrate {vm.name} to {target} force'" + _suggestion(vm, load) + ".")
        return refused(message, vm=vm.name)
    why = (*(f"FORCED although {text}" for _, text in found), *pin_note)
    forced_kinds = {kind for kind, _ in found}
    return changes.migrate(ctx, cmd, vm, target, why=why, force=force,
                           recheck=lambda: _migration_changed(ctx, cmd, vm, target, forced_kinds))


def _migration_changed(ctx: Context, cmd: Command, vm: VM, target: str, forced: Collection[str]) -> str:
    """What changed since a migration's preview, with what to say instead; "" when nothing did."""
    what = rechecks.vm_moved_or_changed(ctx, vm)
    if what:
        return rechecks.changed(what, f"Say '{cmd.canonical()}' again for a new preview.")
    stuck, how = rechecks.disk_now_only_here(ctx, vm)
    if stuck:
        return rechecks.changed([stuck], f"{how} Say '{cmd.canonical()}' again for a new preview.".lstrip())
    return rechecks.placement_changed(ctx, Guest.of(vm), target, forced=forced, choose=f"migrate {vm.name}",
                                      again="host" not in cmd.args, verb="move",
                                      force=f"migrate {vm.name} to {target} force")


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
    if on:
        preview += resilience.what_if(ctx, Proposal(maintenance=host))

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
    force = "force" in cmd.args
    plan = plan_evacuation(host, vms, load_of(ctx), pinned=() if force else pinned,
                           strays=strays_among(ctx, vms), shared_pools=shared_on(ctx, host))
    notes = {name: (f"FORCED although pinned to {host}" if force else f"'evacuate {host} force' moves it too")
             for name in pinned} | _share_notes(ctx, plan)
    if not plan.moves:
        return refused(f"Nothing can move off {host}:\n" + _plan_lines(plan, "move", notes), hosts=(host,))

    def run(progress: Progress) -> Reply:
        what = _evacuation_changed(ctx, plan, vms)
        if what:
            return refused(rechecks.changed(what, f"Say '{cmd.canonical()}' again for a new plan."),
                           hosts=(host,))
        ctx.inventory.set_maintenance(host, on=True, at=ctx.now(), user=ctx.user)
        done = carry_out(ctx.farm, plan, progress, record=lambda vm: _record(ctx, cmd, vm),
                         should_stop=ctx.should_stop)
        return _emptied(ctx, plan, done, verb="moved", what="Evacuation")

    preview = (f"evacuate {host}: mark it in maintenance, then move {len(plan.moves)} of its "
               f"{len(vms)} VMs one at a time\n" + _plan_lines(plan, "move", notes))
    return Plan(preview=preview, vm="", hosts=_touched(plan), run=run, holds=_holds(plan))


def _evacuation_changed(ctx: Context, plan: Evacuation, vms: list[VM]) -> list[str]:
    """What changed since an evacuation's preview: VMs gone from the host or new there, targets full."""
    try:
        current = {vm.name: vm for vm in ctx.farm.call(plan.host, lambda d: d.list_vms())}
    except HostUnreachable as exc:
        return [f"{plan.host} stopped answering ({exc.reason})"]
    now = set(current)
    what = [f"{m.vm.name} is no longer on {plan.host}" for m in plan.moves if m.vm.name not in now]
    what += [f"{name} is new on {plan.host}" for name in sorted(now - {vm.name for vm in vms})]
    what += [f"{name}: {stuck}" for name, stuck in
             ((m.vm.name, rechecks.disk_only_here(ctx, current[m.vm.name])[0])
              for m in plan.moves if m.vm.name in current) if stuck]
    return what + rechecks.moves_changed(ctx, plan)


def recover(ctx: Context, cmd: Command) -> Plan | Reply:
    """Plan starting a down host's running VMs elsewhere; refused while the host answers."""
    host = lookup.host_name(ctx, cmd.args["host"])
    try:
        ctx.farm.call(host, lambda d: d.describe(facts=False))
    except HostUnreachable as exc:
        reason = exc.reason
    else:
        return refused(f"{host} answers: it is not down, so there is nothing to recover. "
                       f"To empty a running host, use 'evacuate {host}'.", hosts=(host,))
    records = ctx.inventory.vms_on(host)
    running = [r.vm for r in records if r.vm.state.active]
    # A VM already defined on an answering host (recovered before, or moved) is never started twice.
    elsewhere = {vm.name: vm for vm in ctx.farm.survey().copies if vm.host != host}
    already = [f"  stays {vm.name}: already {elsewhere[vm.name].state.value} on {elsewhere[vm.name].host}"
               for vm in running if vm.name in elsewhere]
    running = [vm for vm in running if vm.name not in elsewhere]
    if not running:
        text = f"No VM was running on {host} when it was last seen; nothing to recover."
        return ok(Text(text), text, hosts=(host,))
    pinned = {vm.name for vm in running if ctx.config.pinned_host(vm.name) == host}
    plan = plan_recovery(host, running, load_of(ctx), shared_pools=shared_on(ctx, host), pinned=pinned)
    notes = _share_notes(ctx, plan)
    if not plan.moves:
        return refused(f"No VM of {host} can be started elsewhere:\n" + _plan_lines(plan, "start", notes),
                       hosts=(host,))

    def run(progress: Progress) -> Reply:
        if _answers(ctx, host):  # it came back while the preview waited: its VMs may be running there
            return refused(f"{host} answers again: nothing was started elsewhere. Its VMs may be running "
                           f"there; 'refresh' shows them, and 'evacuate {host}' empties it.", hosts=(host,))
        what = rechecks.moves_changed(ctx, plan, need_pools=True)
        if what:
            return refused(rechecks.changed(what, f"Say '{cmd.canonical()}' again for a new plan."),
                           hosts=(host,))
        ctx.inventory.record_host_unreachable(host, reason=reason, at=ctx.now())
        last_known = ctx.inventory.host(host)
        done = restart_elsewhere(ctx.farm, plan, progress, record=lambda vm: _record(ctx, cmd, vm),
                                 pools=last_known.host.pools if last_known else (),
                                 should_stop=ctx.should_stop)
        names = ", ".join(m.vm.name for m in done.moved)
        notes = (f"{host} still holds definitions of {names}: before it boots again, keep it from "
                 f"starting them (autostart), then undefine them there; 'refresh' lists them as strays.",
                 ) if names else ()
        recorded = {m.vm.name: m.vm for m in plan.moves}  # as recorded: the started VM has no password
        consoles = tuple(note for m in done.moved for note in reopen_notes(recorded[m.vm.name], m.target))
        return _emptied(ctx, plan, done, verb="started", what="Recovery", notes=notes + consoles)

    consoles = [f"  console {note}" for m in plan.moves for note in reopen_notes(m.vm, m.target)]
    preview = (f"recover {host}, which is not answering ({reason}). CONFIRM ONLY IF {host} IS REALLY "
               f"OFF (powered off or fenced): one guest running on two hosts corrupts its shared "
               f"disks.\n" + "\n".join([_plan_lines(plan, "start", notes), *already, *consoles]))
    return Plan(preview=preview, vm="", hosts=_touched(plan), run=run, destructive=True, holds=_holds(plan))


def _share_notes(ctx: Context, plan: Evacuation) -> dict[str, str]:
    """For each VM that stays for a disk only its host is known to reach, what would let it move."""
    notes = {}
    for stuck in plan.stuck:
        why, how = rechecks.disk_only_here(ctx, stuck.vm)
        if why and why == stuck.reason and how:
            notes[stuck.vm.name] = how[0].lower() + how[1:].removesuffix(".")
    return notes


def _answers(ctx: Context, host: str) -> bool:
    """Whether the host answers now."""
    try:
        ctx.farm.call(host, lambda d: d.describe(facts=False))
    except HostUnreachable:
        return False
    return True


def check(ctx: Context, cmd: Command) -> Reply:
    """What needs attention, from the inventory, worst first (bot.farm_check, as the site's overview says)."""
    found = farm_findings(ctx.inventory, ctx.config, now=ctx.now())
    return ok(FindingList(tuple(found)), plural(len(found), "finding"))


def _holds(plan: Evacuation) -> tuple[str, ...]:
    """The host, every VM the plan moves and every host it moves one to: no other operation may touch them."""
    targets = sorted({move.target for move in plan.moves})
    return (host_key(plan.host), *(move.vm.name for move in plan.moves), *map(host_key, targets))


def strays_among(ctx: Context, vms: list[VM]) -> dict[str, str]:
    """Of a host's shut-off VMs, those also defined on another host, with why they must not move."""
    reasons = {}
    for vm in vms:
        if vm.state.active:
            continue  # a running copy is the current one, wherever else the VM is defined
        copies, silent = ctx.farm.definitions(vm.name)
        note_copies(ctx, locate(vm.name, copies, silent, prefer=vm.host))  # check names it from now on
        others = [c for c in copies if c.host != vm.host]
        if others:
            where = ", ".join(f"{c.state.value} on {c.host}" for c in others)
            reasons[vm.name] = (f"also defined ({where}): a stray copy is never moved; "
                                f"'repair {vm.name}' keeps one definition")
    return reasons


def _touched(plan: Evacuation) -> tuple[str, ...]:
    """The host being emptied first, then every host the plan puts a VM on."""
    return (plan.host, *sorted({m.target for m in plan.moves} - {plan.host}))


def _record(ctx: Context, cmd: Command, vm: VM) -> None:
    ctx.inventory.record_vm(vm, at=ctx.now(), command=cmd.canonical(), user=ctx.user)


def _plan_lines(plan: Evacuation, verb: str, notes: Mapping[str, str] | None = None) -> str:
    """The plan, a line per VM; `notes` adds a word to some VMs' lines (a pinned VM: 'force')."""
    notes = notes or {}
    lines = [f"  {verb} {m.vm.name} ({m.vm.state.value}, {gib(m.vm.memory_mib)}) → {m.target}"
             + (f" ({m.method})" if m.method != "restart" else "")
             + (f"; {notes[m.vm.name]}" if m.vm.name in notes else "") for m in plan.moves]
    lines += [f"  stays {s.vm.name}: {s.reason}" + (f"; {notes[s.vm.name]}" if s.vm.name in notes else "")
              for s in plan.stuck]
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
    ended = "stopped at a failure" if failed else "interrupted" if done.interrupted else "done"
    counts = [f"{len(done.moved)} {verb}"] + [f"{n} {what_}" for n, what_ in (
        (len(done.not_tried), "not tried"), (len(plan.stuck), "staying")) if n]
    title = f"{what} of {plan.host} {ended}: {', '.join(counts)}."
    body = HostEmptied(
        host=plan.host, title=title, verb=verb, failed=failed,
        moved=tuple((m.vm.name, m.target, m.method) for m in done.moved),
        not_tried=tuple(m.vm.name for m in done.not_tried),
        stays=tuple((s.vm.name, s.reason) for s in plan.stuck), notes=notes,
    )
    outcome = Outcome.FAILED if failed else Outcome.INTERRUPTED if done.interrupted else Outcome.OK
    # Each VM that left (or failed to) finds this entry under 'audit VM'.
    touched = [m.vm.name for m in done.moved] + ([failed[0]] if failed else [])
    return Reply(outcome, body, title, hosts=(plan.host, *sorted({m.target for m in plan.moves})),
                 extra={"vms": ",".join(touched)} if touched else {})
