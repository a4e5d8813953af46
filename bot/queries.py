"""Commands that only read: help, show, list, hosts, host, refresh (`where` is in bot/locate.py)."""

from __future__ import annotations

from dataclasses import replace
from fnmatch import fnmatchcase

from bot import lookup
from bot.context import Context
from bot.grammar import BY_NAME, COMMANDS, GROUPS, role_allows
from bot.journal_report import report_orphans
from bot.locate import live_vm, remember
from bot.parser import ALIASES, Command
from bot.refresh import refresh_inventory
from bot.reply import ok
from bot.results import (
    HelpTable,
    HostCard,
    HostLoad,
    HostTable,
    NicView,
    Outcome,
    Reply,
    Text,
    VMCard,
    VMTable,
)
from hypervisor.errors import HypervisorError
from hypervisor.model import VM, Usage, VMState
from hypervisor.shared_storage import shared_pool_names
from hypervisor.uptime import Uptime, host_uptime, vm_uptime
from hypervisor.words import plural
from inventory.journal import Journal
from inventory.natural import natural_key
from inventory.twice_words import running_twice_message

_STATE_WORDS = {
    "running": {VMState.RUNNING},
    "paused": {VMState.PAUSED, VMState.PMSUSPENDED},
    "shutoff": {VMState.SHUTOFF, VMState.SAVED, VMState.CRASHED},
}


def help_(ctx: Context, cmd: Command) -> Reply:
    """List the commands the asker may run, or explain one."""
    name = cmd.args.get("command")
    if name:
        spec = BY_NAME.get(name.lower()) or ALIASES.get(name.lower())  # `help status` explains `show`
        if spec is None:
            raise lookup.unknown("command", name, BY_NAME)
        rows = ((spec.usage, f"{spec.help} Needs the {spec.role} role.", "; ".join(spec.examples)),)
        return ok(HelpTable(rows, detail=True), f"help for {spec.name}")
    specs = sorted((s for s in COMMANDS if role_allows(ctx.role, s.role)),
                   key=lambda s: GROUPS.index(s.group))
    allowed = tuple((s.usage, s.help, s.examples[0]) for s in specs)
    return ok(HelpTable(allowed, groups=tuple(s.group for s in specs)), f"{len(allowed)} commands")


def nic_views(ctx: Context, vm: VM) -> tuple[NicView, ...]:
    """A VM's NICs with the VLAN, network and bond the fleet config gives their bridges."""
    views = []
    for nic in vm.nics:
        net = ctx.config.network_for_bridge(nic.bridge) if nic.bridge else None
        # A trunk carries several VLANs: the host's own wiring (the fleet config) still says the rest.
        views.append(NicView(mac=nic.mac, bridge=nic.connection,
                             vlan=nic.vlan if nic.vlan is not None else (net.vlan if net else None),
                             network=net.name if net else "", bond=net.bond if net else "",
                             trunk=nic.vlan_text if nic.vlan is None else ""))
    return tuple(views)


def show(ctx: Context, cmd: Command) -> Reply:
    """Show a VM's configuration, read live from its host where possible."""
    record = lookup.vm_record(ctx, cmd.args["vm"])
    vm, error = live_vm(ctx, record)
    if vm is None or error is not None:
        card = VMCard(vm=record.vm, nics=nic_views(ctx, record.vm), last_seen=record.last_seen,
                      stale_since=record.stale_since or (ctx.now() if error is not None else None),
                      uptime=_uptime(ctx, record.vm))
        return ok(card, f"configuration of {record.vm.name} (last known)", vm=record.vm.name)
    remember(ctx, vm, cmd)
    card = VMCard(vm=replace(vm, usage=_usage_now(ctx, vm, record.vm.usage)), nics=nic_views(ctx, vm),
                  last_seen=ctx.now(), uptime=_uptime(ctx, vm))
    return ok(card, f"configuration of {vm.name}", vm=vm.name, hosts=(vm.host,))


def _uptime(ctx: Context, vm: VM) -> Uptime | None:
    """The VM's uptime from its host's facts at the last refresh (libvirt reports none)."""
    record = ctx.inventory.host(vm.host)
    return vm_uptime(vm, record.host if record else None, ctx.now())


def _usage_now(ctx: Context, vm: VM, last: Usage | None) -> Usage | None:
    """A running VM's use as the last refresh read it, with its IP addresses asked of its host now."""
    if not vm.state.active:
        return None
    try:
        addresses = tuple(ctx.farm.call(vm.host, lambda d: d.addresses(vm.name)))
    except HypervisorError:
        return last
    return replace(last or Usage(), addresses=addresses)


def list_(ctx: Context, cmd: Command) -> Reply:
    """List VMs: all, on a host, in a cluster or in a state, from the inventory."""
    if "host" in cmd.args:
        host = lookup.host_name(ctx, cmd.args["host"])
        records, title = ctx.inventory.vms_on(host), f"VMs on {host}"
    elif "cluster" in cmd.args:
        cluster = lookup.cluster_name(ctx, cmd.args["cluster"])
        records, title = ctx.inventory.vms_in(cluster), f"VMs in cluster {cluster}"
    else:
        records, title = ctx.inventory.vms(), "All VMs"
    if "pattern" in cmd.args:
        pattern = cmd.args["pattern"].lower()
        glob = pattern if any(c in pattern for c in "*?[") else pattern + "*"
        records = [r for r in records if fnmatchcase(r.vm.name.lower(), glob)]
        title = f"{title} named {glob}".replace("All VMs named", "VMs named")
    if "state" in cmd.args:
        wanted = _STATE_WORDS[cmd.args["state"].lower()]
        records = [r for r in records if r.vm.state in wanted]
        title = f"{title} that are {cmd.args['state'].lower()}".replace("All VMs that are", "VMs")
        title = title.replace("VMs shutoff", "VMs shut off").replace("are shutoff", "are shut off")
    stale = frozenset(r.vm.host for r in records if r.stale_since is not None)
    table = VMTable(title=title, vms=tuple(r.vm for r in records), stale_hosts=stale)
    return ok(table, f"{title}: {len(records)}")


def host_load(ctx: Context, name: str) -> HostLoad | None:
    """A host's hardware and what its VMs take of it, from the inventory."""
    record = ctx.inventory.host(name)
    if record is None:
        return None
    records = ctx.inventory.vms_on(name)
    copies = ctx.inventory.running_copies_on(name)  # recorded elsewhere, running here too
    vms = [r.vm for r in records] + [replace(r.vm, host=name) for r in copies]
    active = [vm for vm in vms if vm.state.active]
    twice = {r.name: (r.vm.host, *r.running_elsewhere) for r in [*records, *copies] if r.running_elsewhere}
    return HostLoad(host=record.host, vms=len(vms), running=len(active),
                    vcpus_used=sum(vm.vcpus for vm in active),
                    memory_used_mib=sum(vm.memory_mib for vm in active),
                    unreachable=record.reason if record.unreachable_since else "",
                    maintenance=name in ctx.inventory.maintenance(), running_twice=twice)


def hosts(ctx: Context, cmd: Command) -> Reply:
    """List hosts with their capacity and load."""
    rows = tuple(load for name in ctx.farm.host_names if (load := host_load(ctx, name)) is not None)
    return ok(HostTable(rows), plural(len(rows), "host"))


def host(ctx: Context, cmd: Command) -> Reply:
    """Show one host with its VMs."""
    name = lookup.host_name(ctx, cmd.args["host"])
    load = host_load(ctx, name)
    if load is None:
        message = f"{name} has not answered any refresh yet; try 'refresh'."
        return Reply(Outcome.FAILED, Text(message), message, hosts=(name,))
    named_shared = ctx.config.placement.shared_pools
    vms = [r.vm for r in ctx.inventory.vms_on(name)]
    vms += [replace(r.vm, host=name) for r in ctx.inventory.running_copies_on(name)]
    card = HostCard(load=load, vms=tuple(sorted(vms, key=lambda vm: natural_key(vm.name))),
                    networks={str(n.vlan): n.name for n in ctx.config.networks.values()},
                    shared_pools=tuple(sorted(shared_pool_names(load.host.pools, named_shared))),
                    uptime=host_uptime(load.host, ctx.now()))
    return ok(card, f"host {name}", hosts=(name,))


def refresh(ctx: Context, cmd: Command) -> Reply:
    """Ask every host what it runs now and update the inventory (a change cut short is recorded first)."""
    found = report_orphans(ctx.farm, ctx.inventory, Journal.of_state(ctx.inventory.directory), now=ctx.now())
    summary, unreachable = refresh_inventory(ctx.farm, ctx.inventory, at=ctx.now(), user=ctx.user,
                                             command=cmd.canonical())
    text = (f"Refreshed {summary.hosts_ok} hosts and {summary.vms} VMs: {summary.new} new, "
            f"{summary.changed} changed, {summary.removed} gone.")
    if unreachable:
        text += " Not answering: " + "; ".join(f"{h} ({r})" for h, r in sorted(unreachable.items())) + "."
    text += "".join(f"\n{running_twice_message(r.name, (r.vm.host, *r.running_elsewhere))}."
                    for r in ctx.inventory.running_twice())
    text += "".join(f"\n{line}" for line in found)
    return ok(Text(text), text.split("\n")[0], hosts=tuple(sorted(unreachable)))
