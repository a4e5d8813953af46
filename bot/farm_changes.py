"""Commands that make or remove VMs, or accept their configuration: create, delete, baseline."""

from __future__ import annotations

import re
import time
from collections.abc import Collection

from bot import checks, lookup, rechecks, resilience
from bot.changes import current_vm
from bot.checks import Refused, refusing
from bot.context import Context, Plan, Progress
from bot.parser import Command
from bot.rechecks import FORCEABLE, load_of
from bot.results import Done, Outcome, Reply, failed, interrupted, refused
from bot.vmlocks import host_key
from hypervisor import provision
from hypervisor.domain_build import domain_type
from hypervisor.errors import HypervisorError, Interrupted, WrongState
from hypervisor.model import VM, Disk, VMState, gib
from hypervisor.placement import Guest, choose_host
from hypervisor.resilience import Proposal
from hypervisor.resources import check_new_vm
from hypervisor.template import Template
from hypervisor.words import listed, plural
from inventory.drift import field_words

_VM_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
CREATE_SECONDS = 600.0  # cloning an image on a real host takes minutes, not the usual call timeout


@refusing
def create(ctx: Context, cmd: Command) -> Plan:
    """Plan a new VM from its cluster's template (or a named one) on a host with room."""
    name = cmd.args["vm"]
    _check_free(ctx, name)
    cluster = ctx.config.cluster_for_name(name)
    template = _template(ctx, cmd, name, cluster.template if cluster else "")
    host, why, forced = _host(ctx, cmd, name, template, cluster.name if cluster else "")
    record = ctx.inventory.host(host)
    pools = [p.name for p in record.host.pools] if record else []
    if template.pool not in pools:
        raise Refused(f"{host} has no storage pool '{template.pool}' for template {template.name}'s disks "
                      f"(its pools: {', '.join(pools) or 'none'}). Name another host with 'on HOST'.")
    bridges = [ctx.config.networks[net].bridge for net in template.networks]
    macs = _new_macs(ctx, len(bridges))
    kind = domain_type(record.host.driver if record else "")
    cluster_name = cluster.name if cluster else ""
    guest = _guest(name, template, cluster_name)

    def run(progress: Progress) -> Reply:
        begun = time.monotonic()
        try:  # another 'create' of this name may have been confirmed since this preview
            _check_free(ctx, name)
        except Refused as exc:
            return refused(str(exc), vm=name, hosts=(host,))
        what = _placement_changed(ctx, cmd, guest, template, host, forced)
        if what:
            return refused(what, vm=name, hosts=(host,))
        progress(f"creating {name} on {host} from template {template.name}")
        try:
            vm = ctx.farm.call(host, lambda d: provision.create_vm(
                d, name, template, cluster=cluster_name, bridges=bridges, macs=macs, kind=kind,
                should_stop=ctx.should_stop), seconds=CREATE_SECONDS)
        except Interrupted as exc:
            return interrupted(str(exc), vm=name, hosts=(host,))
        except HypervisorError as exc:
            return failed(str(exc), vm=name, hosts=(host,))
        ctx.inventory.record_vm(vm, at=ctx.now(), command=cmd.canonical(), user=ctx.user,
                                baseline_by=ctx.user)
        summary = f"{name} created on {host} from template {template.name}: now {vm.state.value}."
        notes = (f"MACs {', '.join(nic.mac for nic in vm.nics)}; disks "
                 f"{', '.join(disk.source for disk in vm.disks)}.",
                 "Its configuration is recorded as its baseline.")
        done = Done(vm=vm, action="create", summary=summary, seconds=time.monotonic() - begun, notes=notes)
        return Reply(Outcome.OK, done, summary, vm=name, hosts=(host,))

    newcomer = Guest(name=name, vcpus=template.vcpus, memory_mib=template.memory_mib, cluster=cluster_name,
                     host=host, pools=frozenset({template.pool}))
    preview = (f"create {name} on {host} ({why}): {describe(template, ctx)}"
               + resilience.what_if(ctx, Proposal(guest=newcomer)))
    return Plan(preview=preview, vm=name, hosts=(host,), run=run, holds=(name, host_key(host)))


def _guest(name: str, template: Template, cluster: str) -> Guest:
    """A VM to be made from a template, as placement sees it."""
    return Guest(name=name, vcpus=template.vcpus, memory_mib=template.memory_mib, cluster=cluster)


def _placement_changed(ctx: Context, cmd: Command, guest: Guest, template: Template, host: str,
                       forced: Collection[str]) -> str:
    """What changed on the host since a create's preview, with what to say instead; "" when nothing did."""
    choose = f"create {guest.name}" + (f" from {template.name}" if "template" in cmd.args else "")
    return rechecks.placement_changed(ctx, guest, host, forced=forced, choose=choose,
                                      again="host" not in cmd.args, verb="create",
                                      force=f"create {guest.name} from {template.name} on {host} force")


def describe(template: Template, ctx: Context) -> str:
    """A template in one line: size, disks, networks, boot and policies."""
    disks = f"{template.disk_gib} GiB system disk " + (
        f"cloned from {template.image}" if template.image else "(empty)") + f" in pool {template.pool}"
    if template.data_disk_gib:
        disks += f", {template.data_disk_gib} GiB data disk"
    nets = ", ".join(f"{n} (VLAN {ctx.config.networks[n].vlan})" for n in template.networks) or "none"
    boot = f"kernel {template.kernel}" if template.kernel else f"bootloader {template.bootloader or 'pygrub'}"
    return (f"template {template.name}, {template.vcpus} vCPUs, {gib(template.memory_mib)} "
            f"(up to {template.vcpu_limit} vCPUs, {gib(template.memory_limit_mib)}); {disks}; "
            f"NICs on {nets}; {boot}; autostart {'on' if template.autostart else 'off'}; "
            f"on_crash {template.on_crash}")


def _check_free(ctx: Context, name: str) -> None:
    if not _VM_NAME.fullmatch(name):
        raise Refused(f"'{name}' cannot name a VM: use letters, digits, '.', '_' and '-', "
                      "starting with a letter or digit.")
    existing = checks.used_name(ctx, name)
    if existing is None:
        return
    stem = re.sub(r"\d+$", "", name)
    numbers = [int(m.group(1)) for other in ctx.inventory.vm_names()
               if (m := re.fullmatch(re.escape(stem) + r"(\d+)", other, re.IGNORECASE))]
    hint = f" The next free name is {stem}{max(numbers) + 1}." if stem != name and numbers else ""
    raise Refused(f"A VM named {existing.name} already exists (on {existing.host}); "
                  f"choose another name.{hint}")


def _template(ctx: Context, cmd: Command, name: str, cluster_template: str) -> Template:
    if "template" in cmd.args:
        return checks.template_named(ctx, cmd.args["template"])
    if cluster_template and cluster_template in ctx.config.templates:
        return ctx.config.templates[cluster_template]
    known = ", ".join(ctx.config.templates) or "none are configured"
    raise Refused(f"Cannot tell which template {name} should use: its name matches no cluster with a "
                  f"template. Say 'create {name} from TEMPLATE' (templates: {known}).")


def _host(ctx: Context, cmd: Command, name: str, template: Template,
          cluster: str) -> tuple[str, str, set[str]]:
    """The host named or chosen, why in a few words for the preview, and the rules 'force' overruled."""
    rooms = {room.host: room for room in checks.rooms(ctx)}
    guest = _guest(name, template, cluster)
    load = load_of(ctx)
    if "host" in cmd.args:
        host = lookup.host_name(ctx, cmd.args["host"])
        room = rooms.get(host) or checks.room(ctx, host)
        check_new_vm(room, name=name, memory_mib=template.memory_mib,  # no 'force' adds memory
                     others=[r for r in rooms.values() if r.host != host])
        # The rules 'migrate VM to HOST' keeps (and 'force' overrules), the same words for the same reasons.
        found = [(kind, text) for kind, text in (load.problems(guest, host) if host in load.rooms else [])
                 if kind in FORCEABLE]
        problems = [text for _, text in found]
        if problems and "force" not in cmd.args:
            choice = choose_host(guest, load)
            alternative = (f", or 'create {name} from {template.name}' to let granja choose "
                           f"({choice.host} now)" if choice.host else "")
            raise Refused(f"Not creating {name} on {host}: " + "; ".join(problems) + ". To create it there "
                          f"anyway, say 'create {name} from {template.name} on {host} force'{alternative}.")
        forced = "".join(f"; FORCED although {text}" for text in problems)
        return host, f"as asked; {gib(room.free_memory_mib)} free{forced}", {kind for kind, _ in found}
    choice = choose_host(guest, load)
    if choice.host is None:
        raise Refused(f"No host can take {name} ({gib(template.memory_mib)}, {template.vcpus} vCPUs) now: "
                      + "; ".join(choice.reasons[1:]) + ". See 'hosts' and 'check'.")
    return choice.host, choice.reasons[0], set()


def _new_macs(ctx: Context, count: int) -> list[str]:
    """`count` new MACs, unique in the farm and among themselves."""
    taken = checks.taken_macs(ctx)
    macs: list[str] = []
    for _ in range(count):
        macs.append(provision.new_mac(taken))
        taken.add(macs[-1])
    return macs


@refusing
def delete(ctx: Context, cmd: Command) -> Plan:
    """Plan removing a shut-off VM: its definition and the disk volumes only it uses."""
    vm = current_vm(ctx, cmd)
    _check_shut_off(vm)
    remove, keep = disk_fate(ctx, vm)

    def run(progress: Progress) -> Reply:
        # Someone may have started it since the preview: its disks must not go from under it.
        now = ctx.farm.call(vm.host, lambda d: d.find_vm(vm.name))
        if now is None:
            return refused(f"{vm.name} is no longer on {vm.host}; nothing was deleted. "
                           f"'where is {vm.name}' finds it.", vm=vm.name, hosts=(vm.host,))
        _check_shut_off(now)
        if ctx.should_stop():  # undefining commits the deletion; before it, nothing is touched
            message = f"Deletion of {vm.name} interrupted before it began: it stays shut off on {vm.host}."
            return interrupted(message, vm=vm.name, hosts=(vm.host,))
        try:
            ctx.farm.call(vm.host, lambda d: d.undefine(vm.name))
        except HypervisorError as exc:
            return failed(f"{exc} {vm.name} is still defined on {vm.host}; no disk was removed.",
                          vm=vm.name, hosts=(vm.host,))
        ctx.inventory.forget_vm(vm.name, at=ctx.now(), command=cmd.canonical(), user=ctx.user)
        left = []
        for disk in remove:
            try:
                _delete_volume(ctx, vm.host, disk.source)
            except HypervisorError as exc:
                left.append(f"{disk.source} ({exc})")
        summary = f"{vm.name} deleted from {vm.host}; removed {plural(len(remove) - len(left), 'disk')}."
        notes = tuple(f"Kept {disk.source}: {why}" for disk, why in keep)
        notes += tuple(f"Could not remove {item}; remove it by hand." for item in left)
        done = Done(vm=vm, action="delete", summary=summary, seconds=0.0, notes=notes)
        return Reply(Outcome.FAILED if left else Outcome.OK, done, summary, vm=vm.name, hosts=(vm.host,))

    removing = "; ".join(disk.source for disk in remove) or "none"
    keeping = "; ".join(f"{disk.source} ({why})" for disk, why in keep) or "none"
    preview = (f"delete {vm.name} on {vm.host} (shut off): undefine it, remove disks: {removing}; "
               f"keep disks: {keeping}")
    return Plan(preview=preview, vm=vm.name, hosts=(vm.host,), run=run, destructive=True)


def _check_shut_off(vm: VM) -> None:
    """Only a shut-off VM may be deleted; raises WrongState saying how to get there."""
    if vm.state is not VMState.SHUTOFF:
        hint = (f"It has a saved memory image: 'start {vm.name}', then 'shutdown {vm.name}'."
                if vm.state is VMState.SAVED else f"Use 'shutdown {vm.name}' first.")
        raise WrongState(vm.name, vm.state.value, "delete", hint)


def _delete_volume(ctx: Context, host: str, path: str) -> None:
    ctx.farm.call(host, lambda d: d.delete_volume(path))


def disk_fate(ctx: Context, vm: VM) -> tuple[list[Disk], list[tuple[Disk, str]]]:
    """Which of a VM's disks `delete` removes (its own pool volumes) and which it keeps, with why."""
    users = ctx.inventory.disk_users()
    remove: list[Disk] = []
    keep: list[tuple[Disk, str]] = []
    for disk in vm.disks:
        others = [name for name in users.get(disk.source, []) if name != vm.name]
        if disk.device != "disk" or disk.readonly:
            keep.append((disk, f"a read-only {disk.device}"))
        elif others:
            keep.append((disk, f"also used by {', '.join(others)}"))
        elif not disk.pool:
            keep.append((disk, "not a volume of a storage pool"))
        else:
            remove.append(disk)
    return remove, keep


@refusing
def baseline(ctx: Context, cmd: Command) -> Plan:
    """Plan accepting a VM's current configuration as its baseline."""
    vm = current_vm(ctx, cmd)
    old = ctx.inventory.baseline(vm.name)
    diffs = ctx.inventory.drift(vm.name) if old else []
    if old is not None and not diffs:
        raise Refused(f"{vm.name} already matches its baseline of {old.taken_at:%Y-%m-%d %H:%M} UTC; "
                      "nothing to accept.")

    def run(progress: Progress) -> Reply:
        taken = ctx.inventory.set_baseline(vm.name, at=ctx.now(), user=ctx.user, command=cmd.canonical())
        summary = (f"The baseline of {vm.name} is now its current configuration "
                   f"({plural(len(diffs), 'difference')} accepted; baseline {taken.id}).")
        done = Done(vm=vm, action="baseline", summary=summary, seconds=0.0)
        return Reply(Outcome.OK, done, summary, vm=vm.name, hosts=(vm.host,))

    since = f"the baseline of {old.taken_at:%Y-%m-%d %H:%M} UTC" if old else "no baseline"
    preview = (f"accept {vm.name}'s current configuration as its baseline, replacing {since} "
               f"({plural(len(diffs), 'difference')}: {listed([field_words(d.path) for d in diffs])})")
    return Plan(preview=preview, vm=vm.name, hosts=(vm.host,), run=run)
