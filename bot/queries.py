"""Commands that only read: help, where, show, list, hosts, host, audit, refresh."""

from __future__ import annotations

from bot import lookup
from bot.context import Context
from bot.grammar import BY_NAME, COMMANDS, role_allows
from bot.journal_report import report_orphans
from bot.parser import Command
from bot.refresh import refresh_inventory
from bot.results import (
    AuditRow,
    AuditTable,
    HelpTable,
    HostCard,
    HostLoad,
    HostTable,
    Located,
    NicView,
    Outcome,
    Reply,
    Text,
    VMCard,
    VMTable,
)
from hypervisor.errors import HypervisorError
from hypervisor.model import VM, VMState
from inventory import VMRecord
from inventory.disclosure import redact_entry, speaker, visible_to
from inventory.journal import Journal

_STATE_WORDS = {
    "running": {VMState.RUNNING},
    "paused": {VMState.PAUSED, VMState.PMSUSPENDED},
    "shutoff": {VMState.SHUTOFF, VMState.SAVED, VMState.CRASHED},
}


def ok(body: object, summary: str, *, vm: str = "", hosts: tuple[str, ...] = ()) -> Reply:
    """A successful answer."""
    return Reply(Outcome.OK, body, summary, vm=vm, hosts=hosts)  # type: ignore[arg-type]


def help_(ctx: Context, cmd: Command) -> Reply:
    """List the commands the asker may run, or explain one."""
    name = cmd.args.get("command")
    if name:
        spec = BY_NAME.get(name.lower())
        if spec is None:
            raise lookup.unknown("command", name, BY_NAME)
        rows = ((spec.usage, f"{spec.help} Needs the {spec.role} role.", "; ".join(spec.examples)),)
        return ok(HelpTable(rows, detail=True), f"help for {spec.name}")
    allowed = tuple((s.usage, s.help, s.examples[0]) for s in COMMANDS if role_allows(ctx.role, s.role))
    return ok(HelpTable(allowed), f"{len(allowed)} commands")


def live_vm(ctx: Context, record: VMRecord) -> tuple[VM | None, HypervisorError | None]:
    """Read a VM from the host the inventory has it on: (VM or None, the error if the host failed)."""
    try:
        return ctx.farm.call(record.vm.host, lambda d: d.find_vm(record.vm.name)), None
    except HypervisorError as exc:
        return None, exc


def remember(ctx: Context, vm: VM, command: Command) -> None:
    """Record a VM as just seen, if it differs from what the inventory holds."""
    known = ctx.inventory.vm(vm.name)
    if known is None or known.vm != vm or known.stale_since is not None:
        ctx.inventory.record_vm(vm, at=ctx.now(), command=command.canonical(), user=ctx.user)


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
        if vm is not None and vm.state.active:
            remember(ctx, vm, cmd)
            return ok(Located(vm=vm, live=True), f"{vm.name} is on {vm.host}", vm=vm.name, hosts=(vm.host,))
    found = ctx.farm.find(record.vm.name if record else name)
    if found.vm is None:
        return _nowhere(ctx, cmd, name, record, found.unreachable)
    remember(ctx, found.vm, cmd)
    moved_from = record.vm.host if record and record.vm.host != found.vm.host else ""
    located = Located(vm=found.vm, live=True, corrected_from=moved_from, strays=found.strays)
    return ok(located, f"{found.vm.name} is on {found.vm.host}", vm=found.vm.name, hosts=(found.vm.host,))


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
                      stale_since=record.stale_since or (ctx.now() if error is not None else None))
        return ok(card, f"configuration of {record.vm.name} (last known)", vm=record.vm.name)
    remember(ctx, vm, cmd)
    card = VMCard(vm=vm, nics=nic_views(ctx, vm), last_seen=ctx.now())
    return ok(card, f"configuration of {vm.name}", vm=vm.name, hosts=(vm.host,))


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
    if "state" in cmd.args:
        wanted = _STATE_WORDS[cmd.args["state"].lower()]
        records = [r for r in records if r.vm.state in wanted]
        title = f"{title} that are {cmd.args['state'].lower()}".replace("All VMs that are", "VMs")
    stale = frozenset(r.vm.host for r in records if r.stale_since is not None)
    table = VMTable(title=title, vms=tuple(r.vm for r in records), stale_hosts=stale)
    return ok(table, f"{title}: {len(records)}")


def host_load(ctx: Context, name: str) -> HostLoad | None:
    """A host's hardware and what its VMs take of it, from the inventory."""
    record = ctx.inventory.host(name)
    if record is None:
        return None
    vms = [r.vm for r in ctx.inventory.vms_on(name)]
    active = [vm for vm in vms if vm.state.active]
    return HostLoad(host=record.host, vms=len(vms), running=len(active),
                    vcpus_used=sum(vm.vcpus for vm in active),
                    memory_used_mib=sum(vm.memory_mib for vm in active),
                    unreachable=record.reason if record.unreachable_since else "",
                    maintenance=name in ctx.inventory.maintenance())


def hosts(ctx: Context, cmd: Command) -> Reply:
    """List hosts with their capacity and load."""
    rows = tuple(load for name in ctx.farm.host_names if (load := host_load(ctx, name)) is not None)
    return ok(HostTable(rows), f"{len(rows)} hosts")


def host(ctx: Context, cmd: Command) -> Reply:
    """Show one host with its VMs."""
    name = lookup.host_name(ctx, cmd.args["host"])
    load = host_load(ctx, name)
    if load is None:
        message = f"{name} has not answered any refresh yet; try 'refresh'."
        return Reply(Outcome.FAILED, Text(message), message, hosts=(name,))
    card = HostCard(load=load, vms=tuple(r.vm for r in ctx.inventory.vms_on(name)))
    return ok(card, f"host {name}", hosts=(name,))


def audit(ctx: Context, cmd: Command) -> Reply:
    """Show recent audit entries, for the farm or one VM."""
    vm = cmd.args.get("vm")
    secrets = ctx.config.site.secrets
    # Entries from direct messages and private channels: only for admins, or where they were written.
    entries = [redact_entry(e, secrets) for e in ctx.inventory.audit(vm=vm, limit=200)
               if visible_to(e, role=ctx.role, channel=ctx.channel)][:20]
    rows = tuple(AuditRow(at=e.at, user=speaker(e), text=e.text, outcome=e.outcome, detail=e.detail,
                          duration_ms=e.duration_ms) for e in entries)
    title = f"Recent commands about {vm}" if vm else "Recent commands"
    return ok(AuditTable(title=title, rows=rows), f"{len(rows)} audit entries", vm=vm or "")


def refresh(ctx: Context, cmd: Command) -> Reply:
    """Ask every host what it runs now and update the inventory."""
    summary, unreachable = refresh_inventory(ctx.farm, ctx.inventory, at=ctx.now(), user=ctx.user,
                                             command=cmd.canonical())
    text = (f"Refreshed {summary.hosts_ok} hosts and {summary.vms} VMs: {summary.new} new, "
            f"{summary.changed} changed, {summary.removed} gone.")
    if unreachable:
        text += " Not answering: " + "; ".join(f"{h} ({r})" for h, r in sorted(unreachable.items())) + "."
    journal = Journal(ctx.inventory.directory / "journal")
    found = report_orphans(ctx.farm, ctx.inventory, journal, now=ctx.now())
    text += "".join(f"\n{line}" for line in found)
    return ok(Text(text), text.split("\n")[0], hosts=tuple(sorted(unreachable)))
