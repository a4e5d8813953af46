"""Replies as plain text, for the console and as Slack's fallback text."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import singledispatch
from typing import Any

from bot.results import (
    AuditTable,
    DiffView,
    Done,
    FindingList,
    HelpTable,
    HistoryView,
    HostCard,
    HostEmptied,
    HostLoad,
    HostTable,
    Located,
    Reply,
    TemplateList,
    Text,
    VMCard,
    VMTable,
)
from hypervisor.model import VM, gib
from inventory import Change


def render(reply: Reply) -> str:
    """The whole reply as text."""
    return _body(reply.body)


def when(moment: datetime | None, now: datetime | None = None) -> str:
    """A time as 'YYYY-MM-DD HH:MM UTC (N min ago)'."""
    if moment is None:
        return "never"
    now = now or datetime.now(UTC)
    minutes = int((now - moment).total_seconds() // 60)
    ago = "just now" if minutes < 1 else f"{minutes} min ago" if minutes < 120 else f"{minutes // 60} h ago"
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC ({ago})"


def table(headers: list[str], rows: list[list[str]]) -> str:
    """Rows in aligned columns."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=False)).rstrip()
             for row in [headers, *rows]]
    return "\n".join(lines)


@singledispatch
def _body(body: object) -> str:
    raise TypeError(f"no text form for {type(body).__name__}")


@_body.register
def _(body: Text) -> str:
    return body.text


@_body.register
def _(body: Located) -> str:
    vm = body.vm
    if not body.live:
        return (f"{vm.name} was last seen on {vm.host} ({vm.state.value}) at {when(body.last_seen)}. "
                f"{vm.host} is not answering now: {body.unreachable_reason}")
    text = f"{vm.name} is on {vm.host} ({vm.state.value})."
    if body.corrected_from:
        text += f" The inventory had it on {body.corrected_from}; corrected."
    if body.strays:
        text += f" A stray inactive definition of it is also on {', '.join(body.strays)}."
    return text


@_body.register
def _(body: VMCard) -> str:
    vm = body.vm
    boot = vm.kernel and f"kernel {vm.kernel}" or vm.bootloader and f"bootloader {vm.bootloader}" or ""
    lines = [
        f"{vm.name}  ({vm.state.value} on {vm.host})",
        *([f"STALE since {when(body.stale_since)}: {vm.host} is not answering; last known data."]
          if body.stale_since else []),
        f"  cluster    {vm.meta.cluster or '-'}   template {vm.meta.template or '-'}",
        f"  vCPUs      {vm.vcpus}",
        f"  memory     {gib(vm.memory_mib)}" + (f" (max {gib(vm.max_memory_mib)})"
                                                  if vm.max_memory_mib > vm.memory_mib else ""),
        f"  virt       {vm.virt.value.upper()} ({vm.os_type}){', ' + boot if boot else ''}",
        f"  autostart  {'on' if vm.autostart else 'off'}   on_crash {vm.on_crash}   "
        f"on_poweroff {vm.on_poweroff}   on_reboot {vm.on_reboot}",
        f"  uuid       {vm.uuid}",
        "  disks:",
        *(f"    {d.target:6} {d.source}  {d.bus or '-'}"
          + (f"  pool {d.pool}" if d.pool else "")
          + (f"  {d.size_bytes / 2**30:g} GiB" if d.size_bytes else "") for d in vm.disks),
        "  NICs:",
        *(f"    {n.mac}  {n.bridge}" + (f"  VLAN {n.vlan}" if n.vlan is not None else "")
          + (f" ({n.network})" if n.network else "") + (f"  via {n.bond}" if n.bond else "")
          for n in body.nics),
        f"  last seen  {when(body.last_seen)}",
    ]
    return "\n".join(lines)


def _vm_row(vm: VM, stale: frozenset[str]) -> list[str]:
    host = vm.host + (" (stale)" if vm.host in stale else "")
    return [vm.name, host, vm.state.value, vm.meta.cluster or "-", str(vm.vcpus), gib(vm.memory_mib)]


@_body.register
def _(body: VMTable) -> str:
    if not body.vms:
        return f"{body.title}: none."
    rows = [_vm_row(vm, body.stale_hosts) for vm in body.vms]
    headers = ["VM", "HOST", "STATE", "CLUSTER", "vCPU", "MEMORY"]
    return f"{body.title} ({len(rows)}):\n" + table(headers, rows)


def _load_row(load: HostLoad) -> list[str]:
    host = load.host
    return [host.name, f"{load.running}/{load.vms}", f"{load.vcpus_used}/{host.cpus}",
            f"{gib(load.memory_used_mib)} / {gib(host.memory_mib)}", host.driver,
            f"UNREACHABLE: {load.unreachable}" if load.unreachable else
            "maintenance" if load.maintenance else "ok"]


@_body.register
def _(body: HostTable) -> str:
    rows = [_load_row(load) for load in body.rows]
    return table(["HOST", "RUNNING/VMS", "vCPU USED", "MEMORY USED", "DRIVER", "STATUS"], rows)


@_body.register
def _(body: HostCard) -> str:
    load, host = body.load, body.load.host
    lines = [f"{host.name}  {host.cpus} CPUs {host.cpu_model} {host.cpu_mhz} MHz, {gib(host.memory_mib)}, "
             f"driver {host.driver}{'' if host.live_migration else ' (no live migration)'}",
             f"  allocated to running VMs: {load.vcpus_used} vCPUs, {gib(load.memory_used_mib)}"]
    if load.unreachable:
        lines.append(f"  UNREACHABLE at last refresh: {load.unreachable}")
    if load.maintenance:
        lines.append(f"  in maintenance: new placements avoid it ('maintenance {host.name} off' ends it)")
    lines += [f"  pool {p.name}: {p.available_bytes / 2**30:.0f} GiB free"
              f" of {p.capacity_bytes / 2**30:.0f} GiB" for p in host.pools]
    if host.facts:
        lines += [f"  bond {b.name} ({b.mode}): {', '.join(b.slaves)}"
                  + ("" if set(b.slaves) == set(b.slaves_up) else
                     f"  DOWN: {', '.join(sorted(set(b.slaves) - set(b.slaves_up)))}")
                  for b in host.facts.bonds]
        lines += [f"  vlan {v.name} (VLAN {v.vlan} on {v.parent})" for v in host.facts.vlans]
        lines += [f"  bridge {b.name}: {', '.join(b.ports) or '-'}" for b in host.facts.bridges]
        lines += [f"  disk {d.path}: {d.free_bytes / 2**30:.0f} GiB free of {d.size_bytes / 2**30:.0f} GiB"
                  for d in host.facts.storage]
        node = host.facts.node
        if node is not None:  # the hypervisor's own view, to compare with libvirt's
            free = f", {gib(node.free_memory_mib)} free" if node.free_memory_mib is not None else ""
            lines.append(f"  {node.source}: {node.cpus} CPUs, {gib(node.memory_mib)}{free}"
                         + (f", {node.version}" if node.version else ""))
    lines.append(_body(VMTable(title=f"VMs on {host.name}", vms=body.vms)))
    return "\n".join(lines)


@_body.register
def _(body: AuditTable) -> str:
    if not body.rows:
        return f"{body.title}: none yet."
    rows = [[f"{r.at.astimezone(UTC):%Y-%m-%d %H:%M:%S}", r.user, r.text, r.outcome, r.detail[:80]]
            for r in body.rows]
    return f"{body.title}:\n" + table(["WHEN (UTC)", "WHO", "COMMAND", "OUTCOME", "DETAIL"], rows)


@_body.register
def _(body: HelpTable) -> str:
    if body.detail:
        usage, text, examples = body.commands[0]
        return f"{usage}\n  {text}\n  Examples: {examples}"
    # A usage too long for the column gets a line of its own, so the help texts stay aligned.
    lines = [f"  {usage:40} {text}" if len(usage) <= 40 else f"  {usage}\n  {'':40} {text}"
             for usage, text, _ in body.commands]
    return "Commands you may run:\n" + "\n".join(lines)


@_body.register
def _(body: Done) -> str:
    return "\n".join([body.summary, *(f"  {note}" for note in body.notes)])


@_body.register
def _(body: HostEmptied) -> str:
    lines = [body.title]
    lines += [f"  {body.verb:10} {vm} → {host}" + (f" ({method})" if method != "restart" else "")
              for vm, host, method in body.moved]
    if body.failed:
        lines.append(f"  FAILED     {body.failed[0]}: {body.failed[1]}")
    if body.not_tried:
        lines.append(f"  not tried  {', '.join(body.not_tried)} (still on {body.host})")
    lines += [f"  stays      {vm}: {why}" for vm, why in body.stays]
    return "\n".join([*lines, *(f"  {note}" for note in body.notes)])


@_body.register
def _(body: FindingList) -> str:
    if not body.findings:
        return "Nothing needs attention."
    rows = [[body.severity(i), f.kind, f.subject, f.message] for i, f in enumerate(body.findings)]
    count = "1 thing needs" if len(rows) == 1 else f"{len(rows)} things need"
    return f"{count} attention:\n" + table(["SEVERITY", "KIND", "SUBJECT", "WHAT"], rows)


@_body.register
def _(body: TemplateList) -> str:
    if not body.templates:
        return "No templates in the fleet config."
    rows = [[t.name, f"{t.vcpus} (≤{t.vcpu_limit})", f"{gib(t.memory_mib)} (≤{gib(t.memory_limit_mib)})",
             f"{t.disk_gib}G" + (f"+{t.data_disk_gib}G" if t.data_disk_gib else "") + f" {t.pool}",
             t.image or "(empty)", " ".join(f"{n}/{body.vlans.get(n, '?')}" for n in t.networks),
             "kernel" if t.kernel else "pygrub" if not t.bootloader else t.bootloader,
             "on" if t.autostart else "off", t.on_crash, ", ".join(body.clusters.get(t.name, ())) or "-"]
            for t in body.templates]
    headers = ["TEMPLATE", "vCPU", "MEMORY", "DISKS", "IMAGE", "NETWORKS/VLAN", "BOOT", "AUTOSTART",
               "ON_CRASH", "CLUSTERS"]
    return f"Templates ({len(rows)}):\n" + table(headers, rows)


def change_value(path: str, value: Any) -> str:
    """A configuration value as people read it: memory in GiB, a NIC by MAC and bridge, a disk by path."""
    if value is None:
        return "-"
    if isinstance(value, dict) and "mac" in value:
        return f"NIC {value['mac']} on {value.get('bridge', '?')}"
    if isinstance(value, dict) and "target" in value:
        size = value.get("size_bytes")
        text = f"disk {value['target']} {value.get('source', '')}"
        return text + (f" ({size / 2**30:g} GiB)" if size else "")
    if isinstance(value, int) and not isinstance(value, bool) and path.endswith("memory_mib"):
        return gib(value)
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def change_what(change: Change) -> str:
    """What a logged change did, in one line: the field (or kind), old → new."""
    what = change.path if change.kind == "config" else change.kind
    return f"{what}: {change_value(change.path, change.old)} → {change_value(change.path, change.new)}"


@_body.register
def _(body: DiffView) -> str:
    by = f" by {body.baseline_by}" if body.baseline_by else ""
    head = f"{body.vm} against its baseline of {when(body.baseline_at)}{by}"
    head += "" if body.live else " (its host is not answering: last known configuration)"
    if not body.diffs:
        return f"{head}: no differences."
    lines = [f"  {d.path}: {change_value(d.path, d.old)} → {change_value(d.path, d.new)}" for d in body.diffs]
    return f"{head}, {len(lines)} difference(s):\n" + "\n".join(lines)


@_body.register
def _(body: HistoryView) -> str:
    if not body.changes:
        return f"No changes of {body.vm} recorded."
    rows = [[f"{c.at.astimezone(UTC):%Y-%m-%d %H:%M:%S}", c.user or "-", c.command or "-", change_what(c)]
            for c in body.changes]
    return f"Changes of {body.vm}, newest first:\n" + table(["WHEN (UTC)", "WHO", "COMMAND", "WHAT"], rows)
