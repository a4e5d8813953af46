"""What farm changes check before they are planned: host room, template limits, names and MACs in use.

Read from the inventory and the fleet config, so a refused change costs no
host call. A `Refused` raised while planning becomes a refusal reply
through `refusing`; nothing has been done at that point.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from bot import lookup
from bot.context import Context, Plan, UnknownName
from bot.fleet import Network
from bot.parser import Command
from bot.results import Reply, refused
from hypervisor.model import VM
from hypervisor.resources import Limits, Room
from hypervisor.template import Template
from inventory import HostRecord
from inventory.usage import HostUsage

Action = Callable[[Context, Command], Reply | Plan]


class Refused(Exception):
    """A change that may not be made as asked; the message says why and what to ask instead."""


def refusing(action: Action) -> Action:
    """Turn a `Refused` raised by an action into a refusal reply."""

    @functools.wraps(action)
    def wrapped(ctx: Context, cmd: Command) -> Reply | Plan:
        try:
            return action(ctx, cmd)
        except Refused as exc:
            return refused(str(exc), vm=cmd.args.get("vm", ""))

    return wrapped


def room(ctx: Context, host: str) -> Room:
    """A host's capacity and what the VMs the inventory has running there take of it."""
    record = ctx.inventory.host(host)
    if record is None or not record.host.memory_mib:
        raise Refused(f"{host} has not answered a refresh yet, so its capacity is unknown; try 'refresh'.")
    return _room(record, ctx.inventory.usage().get(host, HostUsage()))


def rooms(ctx: Context) -> list[Room]:
    """The room of every configured host that answered its last refresh."""
    usage = ctx.inventory.usage()
    configured = set(ctx.farm.host_names)
    return [_room(record, usage.get(record.name, HostUsage())) for record in ctx.inventory.hosts()
            if record.name in configured and record.reachable and record.host.memory_mib]


def _room(record: HostRecord, usage: HostUsage) -> Room:
    return Room(host=record.name, cpus=record.host.cpus, memory_mib=record.host.memory_mib,
                used_memory_mib=usage.memory_mib, clusters=usage.clusters)


def template_of(ctx: Context, vm: VM) -> Template | None:
    """The template a VM was made from (its metadata), else its cluster's, if the config has one."""
    name = vm.meta.template
    if not name:
        cluster = ctx.config.clusters.get(vm.meta.cluster) or ctx.config.cluster_for_name(vm.name)
        name = cluster.template if cluster else ""
    return ctx.config.templates.get(name)


def limits(ctx: Context, vm: VM) -> Limits:
    """The most vCPUs and memory a VM's template allows (no limits without a template)."""
    template = template_of(ctx, vm)
    if template is None:
        return Limits()
    return Limits(template=template.name, vcpus=template.vcpu_limit, memory_mib=template.memory_limit_mib)


def template_named(ctx: Context, name: str) -> Template:
    """A template from the fleet config (case-insensitive), or UnknownName with suggestions."""
    for template in ctx.config.templates.values():
        if template.name.lower() == name.lower():
            return template
    if lookup.suggest(name, ctx.config.templates) or not ctx.config.templates:
        raise lookup.unknown("template", name, ctx.config.templates)
    # No close name: the templates are few, so list them all.
    raise UnknownName(f"No template named '{name}'. The templates: {', '.join(ctx.config.templates)} "
                      "('templates' describes them).")


def network_named(ctx: Context, text: str) -> Network:
    """A network by VLAN id ('120') or name ('mail'), or UnknownName listing the known ones."""
    for net in ctx.config.networks.values():
        if text == str(net.vlan) or text.lower() == net.name.lower():
            return net
    known = ", ".join(f"{n.vlan} ({n.name})" for n in sorted(ctx.config.networks.values(),
                                                          key=lambda n: n.vlan))
    close = lookup.suggest(text, [*ctx.config.networks, *(str(n.vlan) for n in ctx.config.networks.values())])
    hint = f" Did you mean {' or '.join(close)}?" if close else ""
    raise UnknownName(f"No network with VLAN or name '{text}' in the fleet config.{hint} "
                      f"Known VLANs: {known or 'none'}.")


def taken_macs(ctx: Context) -> set[str]:
    """Every MAC the inventory knows on any VM of the farm, in lower case."""
    return ctx.inventory.macs()


def used_name(ctx: Context, name: str) -> VM | None:
    """The VM already called `name` (in any letter case), if the inventory has one."""
    record = lookup.find_record(ctx, name)
    if record is not None:
        return record.vm
    lower = name.lower()
    for other in ctx.inventory.vm_names():
        if other.lower() == lower:
            found = ctx.inventory.vm(other)
            return found.vm if found else None
    return None
