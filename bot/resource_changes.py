"""Commands that change a VM's resources: set vcpus/memory, attach/detach a NIC, attach a disk.

Each value is checked against the host's capacity and the VM's template
before anything is done; the host then applies it live where it can, else
to the definition for the next boot, and the reply says which.
"""

from __future__ import annotations

from collections.abc import Callable

from bot import checks, resilience
from bot.changes import current_vm, state_after_failure
from bot.checks import Refused, refusing
from bot.context import Context, Plan, Progress
from bot.parser import Command
from bot.results import Done, Outcome, Reply, failed
from hypervisor import provision
from hypervisor.domain_build import device_xml
from hypervisor.errors import HostUnreachable, HypervisorError
from hypervisor.interface import Applied, HostDriver
from hypervisor.model import NIC, VM, gib
from hypervisor.placement import Guest
from hypervisor.resilience import Proposal
from hypervisor.resources import check_memory, check_vcpus
from hypervisor.sizes import parse_size_mib

MIN_MEMORY_MIB = 128
GIB_BYTES = 1024**3
Change = Callable[[HostDriver], Applied]


@refusing
def set_(ctx: Context, cmd: Command) -> Plan:
    """Plan a new vCPU count or memory size for a VM."""
    vm = current_vm(ctx, cmd)
    room, limits = checks.room(ctx, vm.host), checks.limits(ctx, vm)
    if "count" in cmd.args:
        count = _whole(cmd.args["count"], "a vCPU count")
        if count == vm.vcpus:
            raise Refused(f"{vm.name} has {count} vCPUs already; nothing to change.")
        check_vcpus(vm.name, count, room=room, limits=limits)
        return _plan(ctx, cmd, vm, f"vCPUs {vm.vcpus} → {count}", lambda d: d.set_vcpus(vm.name, count))
    mib = _size(cmd.args["size"])
    if mib < MIN_MEMORY_MIB:
        raise Refused(f"{gib(mib)} is too little memory for a VM; give at least {MIN_MEMORY_MIB}M.")
    if mib == vm.memory_mib:
        raise Refused(f"{vm.name} has {gib(mib)} already; nothing to change.")
    check_memory(vm.name, mib, now_mib=vm.memory_mib, running=vm.state.active, room=room, limits=limits)
    return _plan(ctx, cmd, vm, f"memory {gib(vm.memory_mib)} → {gib(mib)}",
                 lambda d: d.set_memory(vm.name, mib),
                 warning=resilience.what_if(ctx, Proposal(guest=Guest.of(vm), memory_mib=mib)))


@refusing
def attach(ctx: Context, cmd: Command) -> Plan:
    """Plan adding a NIC on a network (by VLAN id or name) or a new empty disk to a VM."""
    vm = current_vm(ctx, cmd)
    if "vlan" not in cmd.args:
        return _attach_disk(ctx, cmd, vm)
    net = checks.network_named(ctx, cmd.args["vlan"])
    record = ctx.inventory.host(vm.host)
    bridges = [b.name for b in record.host.facts.bridges] if record and record.host.facts else []
    if bridges and net.bridge not in bridges:
        raise Refused(f"{vm.host} has no bridge {net.bridge} for VLAN {net.vlan} ({net.name}); "
                      f"its bridges: {', '.join(bridges)}. Migrate {vm.name} or add the bridge first.")
    nic = NIC(mac=provision.new_mac(checks.taken_macs(ctx)), bridge=net.bridge)
    xml = device_xml(nic)
    what = f"NIC {nic.mac} on {net.bridge} (VLAN {net.vlan}, {net.name}) added"
    return _plan(ctx, cmd, vm, what, lambda d: d.attach_device(vm.name, xml))


@refusing
def detach(ctx: Context, cmd: Command) -> Plan:
    """Plan removing a VM's NIC, named by its MAC."""
    vm = current_vm(ctx, cmd)
    mac = cmd.args["mac"].lower()
    nic = next((n for n in vm.nics if n.mac.lower() == mac), None)
    if nic is None:
        listed = ", ".join(f"{n.mac} ({n.connection})" for n in vm.nics) or "none"
        raise Refused(f"{vm.name} has no NIC with MAC {cmd.args['mac']}. Its NICs: {listed}.")
    xml = device_xml(nic)
    return _plan(ctx, cmd, vm, f"NIC {nic.mac} on {nic.connection} removed",
                 lambda d: d.detach_device(vm.name, xml))


def _attach_disk(ctx: Context, cmd: Command, vm: VM) -> Plan:
    size = _size(cmd.args["size"])
    template = checks.template_of(ctx, vm)
    pool = cmd.args.get("pool") or (template.pool if template else "") or next(
        (d.pool for d in vm.disks if d.pool), "local")
    record = ctx.inventory.host(vm.host)
    pools = {p.name: p for p in record.host.pools} if record else {}
    if pool not in pools:
        raise Refused(f"{vm.host} has no storage pool '{pool}'; its pools: {', '.join(pools) or 'none'}.")
    if size * 1024**2 > pools[pool].capacity_bytes:
        raise Refused(f"A {gib(size)} disk is larger than pool {pool} on {vm.host} "
                      f"({pools[pool].capacity_bytes / GIB_BYTES:.0f} GiB in all).")
    bus = vm.disks[0].bus if vm.disks and vm.disks[0].bus else "xen"
    target = provision.next_target({d.target for d in vm.disks}, bus)
    volume = f"{vm.name}-{target}.img"
    what = f"{gib(size)} disk {target} (new volume {volume} in pool {pool}) added"
    return _plan(ctx, cmd, vm, what, lambda d: provision.add_disk(
        d, vm.name, pool=pool, volume=volume, size_bytes=size * 1024**2, target=target, bus=bus))


def _plan(ctx: Context, cmd: Command, vm: VM, what: str, change: Change, *, warning: str = "") -> Plan:
    """A change of one VM's configuration, recorded with the command and user once made.

    `warning` is added to the preview (the resilience what-if line).
    """

    def run(progress: Progress) -> Reply:
        try:
            applied = ctx.farm.call(vm.host, change)
        except HostUnreachable as exc:  # the host may have made the change before it fell silent
            message = f"{exc} Whether the change was made is not known; 'show {vm.name}' once it answers."
            return failed(message, vm=vm.name, hosts=(vm.host,))
        except HypervisorError as exc:
            message = f"{exc} Nothing was changed. {state_after_failure(ctx, vm, exc)}"
            return failed(message, vm=vm.name, hosts=(vm.host,))
        ctx.inventory.record_vm(applied.vm, at=ctx.now(), command=cmd.canonical(), user=ctx.user)
        summary = f"{vm.name}: {what}, {_effect(vm, applied)}."
        done = Done(vm=applied.vm, action=cmd.name, summary=summary, seconds=0.0)
        return Reply(Outcome.OK, done, summary, vm=vm.name, hosts=(vm.host,))

    preview = f"{vm.name} ({vm.state.value} on {vm.host}): {what}{warning}"
    return Plan(preview=preview, vm=vm.name, hosts=(vm.host,), run=run)


def _effect(vm: VM, applied: Applied) -> str:
    """When a change takes effect, in the words the reply uses."""
    if applied.live:
        return "live now and in its definition"
    if vm.state.active:
        return f"in its definition, at next boot ({vm.host} did not apply it live)"
    return "in its definition, when it next starts"


def _whole(text: str, what: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise Refused(f"'{text}' is not {what}: give a whole number from 1, e.g. 4.")
    return int(text)


def _size(text: str) -> int:
    try:
        return parse_size_mib(text)
    except ValueError as exc:
        raise Refused(f"{exc}.") from None
