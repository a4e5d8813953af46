"""Read-only farm commands about shapes and change: templates, diff against the baseline, history."""

from __future__ import annotations

from bot import lookup
from bot.context import Context
from bot.locate import live_vm, remember
from bot.parser import Command
from bot.reply import ok
from bot.results import DiffView, HistoryView, Reply, TemplateList
from hypervisor.words import plural

HISTORY_LIMIT = 50


def templates(ctx: Context, cmd: Command) -> Reply:
    """List the fleet's templates with the clusters that use them."""
    users: dict[str, list[str]] = {}
    for cluster in ctx.config.clusters.values():
        if cluster.template:
            users.setdefault(cluster.template, []).append(cluster.name)
    body = TemplateList(templates=tuple(ctx.config.templates.values()),
                        clusters={name: tuple(names) for name, names in users.items()},
                        vlans={net.name: net.vlan for net in ctx.config.networks.values()})
    return ok(body, f"{len(body.templates)} templates")


def diff(ctx: Context, cmd: Command) -> Reply:
    """Show how a VM's configuration, read live where possible, differs from its baseline."""
    record = lookup.vm_record(ctx, cmd.args["vm"])
    vm, error = live_vm(ctx, record)
    if vm is not None:
        remember(ctx, vm, cmd)
    name = record.vm.name
    baseline = ctx.inventory.baseline(name)
    if baseline is None:
        message = f"{name} has no baseline yet; 'baseline {name}' accepts its current configuration."
        return ok(DiffView(vm=name, baseline_at=ctx.now(), baseline_by="", diffs=()), message, vm=name)
    diffs = tuple(ctx.inventory.drift(name))
    view = DiffView(vm=name, baseline_at=baseline.taken_at, baseline_by=baseline.taken_by, diffs=diffs,
                    live=error is None)
    return ok(view, f"{name}: {plural(len(diffs), 'difference')} from its baseline", vm=name)


def history(ctx: Context, cmd: Command) -> Reply:
    """Show a VM's configuration and placement changes over time, with who and which command."""
    typed = cmd.args["vm"]
    record = lookup.find_record(ctx, typed)
    name = record.vm.name if record else typed
    changes = tuple(ctx.inventory.changes(name, limit=HISTORY_LIMIT))
    if record is None and not changes:  # a deleted VM keeps its history
        raise lookup.unknown("VM", typed, ctx.inventory.vm_names())
    return ok(HistoryView(vm=name, changes=changes), f"{plural(len(changes), 'change')} of {name}", vm=name)
