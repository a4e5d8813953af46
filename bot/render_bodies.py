"""Reply bodies as text, all but the plainest (see render_text): cards, tables, results of changes, help."""

from __future__ import annotations

import textwrap
from datetime import UTC
from functools import singledispatch
from typing import Any

from bot.grammar import GROUP_TITLES
from bot.render_text import table, when
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
    LostHosts,
    PairsTried,
    ResilienceFigure,
    RestartPlan,
    RollingRun,
    TemplateList,
    VMCard,
    VMTable,
)
from hypervisor.host_model import Bond
from hypervisor.model import VM, Usage, gib, size_text, uptime_text
from hypervisor.words import plural
from inventory import Change
from inventory.drift import field_words
from inventory.twice_words import running_twice_message


def body_text(body: object, *, width: int = 100) -> str:
    """A body as text; help wraps to `width`, the terminal's."""
    if isinstance(body, HelpTable) and not body.detail:
        return _help(body, max(width, 40))
    return _body(body)


@singledispatch
def _body(body: object) -> str:
    raise TypeError(f"no text form for {type(body).__name__}")


@_body.register
def _(body: VMCard) -> str:
    vm = body.vm
    boot = vm.kernel and f"kernel {vm.kernel}" or vm.bootloader and f"bootloader {vm.bootloader}" or ""
    vcpus = f"{vm.vcpus} (max {vm.max_vcpus})" if vm.max_vcpus > vm.vcpus else str(vm.vcpus)
    lines = [
        f"{vm.name}  ({vm.state.value} on {vm.host})",
        *([f"STALE since {when(body.stale_since)}: {vm.host} is not answering; last known data."]
          if body.stale_since else []),
        f"  cluster    {vm.meta.cluster or '-'}   template {vm.meta.template or '-'}",
        f"  vCPUs      {vcpus}",
        f"  memory     {gib(vm.memory_mib)}" + (f" (max {gib(vm.max_memory_mib)})"
                                                  if vm.max_memory_mib > vm.memory_mib else ""),
        *([f"  addresses  {', '.join(vm.usage.addresses)}"] if vm.usage and vm.usage.addresses else []),
        *([f"  in use     {used}"] if (used := usage_text(vm.usage, vm.memory_mib)) else []),
        *([f"  uptime     {body.uptime.words}"] if body.uptime else []),
        f"  virt       {vm.virt.value.upper()} ({vm.os_type}){', ' + boot if boot else ''}",
        f"  autostart  {'on' if vm.autostart else 'off'}   on_crash {vm.on_crash}   "
        f"on_poweroff {vm.on_poweroff}   on_reboot {vm.on_reboot}",
        f"  uuid       {vm.uuid}",
        "  disks:",
        *(f"    {d.target:6} {d.text}  {d.bus or '-'}"
          + (f"  pool {d.pool}" if d.pool else "")
          + (f"  {size_text(d.size_bytes)}" if d.size_bytes else "") for d in vm.disks),
        "  NICs:",
        *(f"    {n.mac}  {n.bridge}" + (f"  VLAN {n.vlan}" if n.vlan is not None else "")
          + (f" ({n.network})" if n.network else "") + (f"  {n.trunk}" if n.trunk else "")
          + (f"  via {n.bond}" if n.bond else "")
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


def usage_text(usage: Usage | None, memory_mib: int, *, short: bool = False) -> str:
    """What a VM or host uses now, where its hypervisor said: "CPU 12%, memory 1.5 GiB of 4 GiB, up 3 h"."""
    if usage is None:
        return ""
    parts = []
    if usage.cpu_percent is not None:
        parts.append(f"CPU {usage.cpu_percent:g}%")
    if usage.memory_used_mib is not None:
        parts.append(f"{'mem' if short else 'memory'} {gib(usage.memory_used_mib)}"
                     + ("" if short else f" of {gib(memory_mib)}"))
    if usage.uptime_seconds is not None and not short:
        parts.append(f"up {uptime_text(usage.uptime_seconds)}")
    return ", ".join(parts)


def _load_row(load: HostLoad) -> list[str]:
    host = load.host
    return [host.name, f"{load.running}/{load.vms}", f"{load.vcpus_used}/{host.cpus}",
            f"{gib(load.memory_used_mib)} / {gib(host.memory_mib)}",
            usage_text(host.usage, host.memory_mib, short=True) or "-", host.driver,
            f"UNREACHABLE: {load.unreachable}" if load.unreachable else
            f"RUNS TWICE: {', '.join(load.running_twice)}" if load.running_twice else
            "maintenance" if load.maintenance else "ok"]


@_body.register
def _(body: HostTable) -> str:
    rows = [_load_row(load) for load in body.rows]
    return table(["HOST", "RUNNING/VMS", "vCPU USED", "MEMORY USED", "IN USE NOW", "DRIVER", "STATUS"], rows)


def _reach(kind: str, shared: bool) -> str:
    """A pool's type and who reaches it: "dir, this host only", "rbd, shared: every host reaches it"."""
    return f"{kind or 'type unknown'}, " + ("shared: every host reaches it" if shared else "this host only")


def _named(network: str | None) -> str:
    return f", {network}," if network else ""


@_body.register
def _(body: HostCard) -> str:
    load, host = body.load, body.load.host
    lines = [f"{host.name}  {host.cpus} CPUs {host.cpu_model} {host.cpu_mhz} MHz, {gib(host.memory_mib)}, "
             f"driver {host.driver}{'' if host.live_migration else ' (no live migration)'}",
             f"  allocated to running VMs: {load.vcpus_used} vCPUs, {gib(load.memory_used_mib)}"]
    if used := usage_text(host.usage, host.memory_mib):
        lines.append(f"  in use now: {used}")
    if body.uptime:
        lines.append(f"  {body.uptime.text}")
    if load.unreachable:
        lines.append(f"  UNREACHABLE at last refresh: {load.unreachable}")
    lines += [f"  {running_twice_message(vm, hosts)}" for vm, hosts in load.running_twice.items()]
    if load.maintenance:
        lines.append(f"  in maintenance: new placements avoid it ('maintenance {host.name} off' ends it)")
    lines += [f"  pool {p.name} ({_reach(p.kind, p.name in body.shared_pools)}): "
              f"{size_text(p.available_bytes)} free of {size_text(p.capacity_bytes)}" for p in host.pools]
    if host.facts:
        lines += [f"  bond {b.name} ({b.mode}): {', '.join(b.slaves)}{_degraded(b)}"
                  for b in host.facts.bonds]
        lines += [f"  vlan {v.name} (VLAN {v.vlan}{_named(body.networks.get(str(v.vlan)))} on {v.parent})"
                  for v in host.facts.vlans]
        lines += [f"  bridge {b.name}: {', '.join(b.ports) or '-'}" for b in host.facts.bridges]
        lines += [f"  disk {d.path}: {size_text(d.free_bytes)} free of {size_text(d.size_bytes)}"
                  for d in host.facts.storage]
        node = host.facts.node
        if node is not None:  # the hypervisor's own view, to compare with libvirt's
            free = f", {gib(node.free_memory_mib)} free" if node.free_memory_mib is not None else ""
            lines.append(f"  {node.source}: {node.cpus} CPUs, {gib(node.memory_mib)}{free}"
                         + (f", {node.version}" if node.version else ""))
        lines += [f"  {n.section} unknown: {n.text}" for n in host.facts.unknown
                  if n.section != "uptime" or not body.uptime]  # the uptime line says it
        lines += [f"  {n.section} {n.text}" for n in host.facts.fallback]
    lines.append(_body(VMTable(title=f"VMs on {host.name}", vms=body.vms)))
    return "\n".join(lines)


def _degraded(bond: Bond) -> str:
    """The slaves of a bond carrying no traffic, by why: '  DOWN: eno2  NOT IN ACTIVE AGGREGATOR: eno3'."""
    by_problem: dict[str, list[str]] = {}
    for slave in bond.degraded_slaves:
        by_problem.setdefault(bond.slave_problem(slave), []).append(slave)
    return "".join(f"  {problem.upper()}: {', '.join(slaves)}" for problem, slaves in by_problem.items())


@_body.register
def _(body: AuditTable) -> str:
    notes = "".join(f"\nNot shown: {problem}." for problem in body.skipped)
    if not body.rows:
        return f"{body.title}: none yet." + notes
    rows = [[f"{r.at.astimezone(UTC):%Y-%m-%d %H:%M:%S}", r.user, r.text, r.outcome, r.detail[:80]]
            for r in body.rows]
    return f"{body.title}:\n" + table(["WHEN (UTC)", "WHO", "COMMAND", "OUTCOME", "DETAIL"], rows) + notes


@_body.register
def _(body: HelpTable) -> str:
    if body.detail:
        usage, text, examples = body.commands[0]
        return f"{usage}\n  {text}\n  Examples: {examples}"
    return _help(body, 100)


def _help(body: HelpTable, width: int) -> str:
    """The commands by group, the help text wrapped to `width` beside (or, if narrow, under) the usage."""
    column = min(36, width // 3)
    indent = " " * (column + 4) if width >= 72 else "      "
    lines = ["Commands you may run ('help COMMAND' explains one):"]
    group = None
    for (usage, text, _), kind in zip(body.commands, body.groups or ("",) * len(body.commands), strict=True):
        if kind != group and kind:
            lines += ["", GROUP_TITLES.get(kind, kind) + ":"]
        group = kind
        if width >= 72 and len(usage) <= column:
            lines += textwrap.wrap(text, width - 1, initial_indent=f"  {usage:{column}}  ",
                                   subsequent_indent=indent)
        else:  # a long usage (or a narrow terminal) puts the text on the lines below
            lines += textwrap.wrap(usage, width - 1, initial_indent="  ", subsequent_indent="    ")
            lines += textwrap.wrap(text, width - 1, initial_indent=indent, subsequent_indent=indent)
    return "\n".join(lines)


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
def _(body: RollingRun) -> str:
    lines = [body.title, *(f"  done       {vm}: {what}" for vm, what in body.done)]
    if body.failed:
        lines.append(f"  FAILED     {body.failed[0]}: {body.failed[1]}")
    if body.not_tried:
        lines.append(f"  not tried  {', '.join(body.not_tried)}")
    lines += [f"  left       {vm} ({state})" for vm, state in body.left]
    return "\n".join(lines)


@_body.register
def _(body: FindingList) -> str:
    if not body.findings:
        return "Nothing needs attention."
    rows = [[f.severity, f.kind, f.subject, f.message] for f in body.findings]
    count = "1 thing needs" if len(rows) == 1 else f"{len(rows)} things need"
    return f"{count} attention:\n" + table(["SEVERITY", "KIND", "SUBJECT", "WHAT"], rows)


SHOWN = 6  # hosts (or stranded VMs) named in one sentence of `resilience` before "and N more"


@_body.register
def _(body: ResilienceFigure) -> str:
    failing = body.failing_hosts
    if failing:
        lines = [f"The farm does not survive every single host failure: the loss of "
                 f"{plural(len(failing), 'host')} would leave cluster members with nowhere to go."]
        lines += [f"  {loss.hosts[0]}: {stranded_text(loss)}" for loss in failing[:SHOWN]]
        if len(failing) > SHOWN:
            lines.append(f"  and {len(failing) - SHOWN} more hosts")
        lines.append(f"Say 'resilience {failing[0].hosts[0]}' for what its failure would do.")
        return "\n".join(lines)
    pairs = body.pairs
    assert pairs is not None  # computed whenever every single failure is survived
    if body.tolerated == 2:
        return (f"The farm survives any 2 host failures: all {plural(pairs.total, 'pair')} of hosts "
                "were tried.")
    return f"The farm survives any 1 host failure. {pairs_text(pairs)}."


def pairs_text(pairs: PairsTried) -> str:
    """How many pairs tried would strand members, and the worst: `resilience`'s words and the what-if's."""
    said = (f"Of the {pairs.total:,} pairs of hosts" if pairs.tried == pairs.total else
            f"Of {pairs.tried:,} pairs of hosts tried (a sample of the {pairs.total:,}: the time ran out)")
    if pairs.worst is None:
        return f"{said}, none would leave VMs with nowhere to go"
    return (f"{said}, {pairs.failing:,} would leave VMs with nowhere to go; "
            f"worst: {' + '.join(pairs.worst.hosts)} ({stranded_text(pairs.worst)})")


def stranded_text(loss: LostHosts) -> str:
    """The first two members a loss strands, each with why, and how many more."""
    members = loss.stranded
    shown = "; ".join(f"{s.vm}: {s.reason}" for s in members[:2])
    return shown + (f"; and {len(members) - 2} more" if len(members) > 2 else "")


@_body.register
def _(body: RestartPlan) -> str:
    host = body.host
    moved = [v for v in body.vms if v.to]
    stuck = [v for v in body.vms if not v.to]
    if not body.vms:
        return f"{host} runs no VM now: its failure would stop nothing."
    head = f"If {host} failed now, {plural(len(moved), 'running VM')} would restart elsewhere"
    head += f" and {len(stuck)} would not:" if stuck else ":"
    return "\n".join([head, *(f"  {v.vm} → {v.to}" for v in moved),
                      *(f"  {v.vm} stays down: {v.reason}" for v in stuck)])


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
        return text + (f" ({size_text(size)})" if size else "")
    if isinstance(value, int) and not isinstance(value, bool) and path.endswith("memory_mib"):
        return gib(value)
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def change_what(change: Change) -> str:
    """What a logged change did, in one line: the field (or kind), old → new."""
    if change.kind != "config":
        old, new = change_value(change.path, change.old), change_value(change.path, change.new)
        return f"{change.kind}: {old} → {new}"
    return change_line(change.path, change.old, change.new)


def change_line(path: str, old: Any, new: Any) -> str:
    """One field's change as people say it: "memory: 8 GiB → 6 GiB", "added NIC … on br120"."""
    if old is None and isinstance(new, dict):
        return f"added {change_value(path, new)}"
    if new is None and isinstance(old, dict):
        return f"removed {change_value(path, old)}"
    return f"{field_words(path)}: {change_value(path, old)} → {change_value(path, new)}"


@_body.register
def _(body: DiffView) -> str:
    by = f" by {body.baseline_by}" if body.baseline_by else ""
    head = f"{body.vm} against its baseline of {when(body.baseline_at)}{by}"
    head += "" if body.live else " (its host is not answering: last known configuration)"
    if not body.diffs:
        return f"{head}: no differences."
    lines = [f"  {change_line(d.path, d.old, d.new)}" for d in body.diffs]
    return f"{head}, {plural(len(lines), 'difference')}:\n" + "\n".join(lines)


@_body.register
def _(body: HistoryView) -> str:
    if not body.changes:
        return f"No changes of {body.vm} recorded."
    rows = [[f"{c.at.astimezone(UTC):%Y-%m-%d %H:%M:%S}", c.user or "-", c.command or "-", change_what(c)]
            for c in body.changes]
    return f"Changes of {body.vm}, newest first:\n" + table(["WHEN (UTC)", "WHO", "COMMAND", "WHAT"], rows)
