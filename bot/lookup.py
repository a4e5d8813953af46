"""Resolving the names people type into VMs, hosts and clusters, with 'did you mean' suggestions."""

from __future__ import annotations

from collections.abc import Iterable

from bot.context import Context, UnknownName
from inventory import VMRecord


def suggest(name: str, choices: Iterable[str], *, limit: int = 3) -> list[str]:
    """The known names closest to a mistyped one, best first."""
    from rapidfuzz import fuzz, process  # only when a name is unknown

    found = process.extract(name, list(choices), scorer=fuzz.ratio, limit=limit, score_cutoff=60)
    return [choice for choice, _score, _index in found]


def unknown(kind: str, name: str, choices: Iterable[str]) -> UnknownName:
    """The error for a name that does not exist, with suggestions where there are any."""
    close = suggest(name, choices)
    if not close:
        return UnknownName(f"No {kind} named '{name}'.")
    options = " or ".join(close)
    return UnknownName(f"No {kind} named '{name}'. Did you mean {options}?")


def find_record(ctx: Context, name: str) -> VMRecord | None:
    """The inventory's record of a VM, by its name as typed or in lower case."""
    record = ctx.inventory.vm(name)
    if record is None and name.lower() != name:
        record = ctx.inventory.vm(name.lower())
    return record


def vm_record(ctx: Context, name: str) -> VMRecord:
    """The inventory's record of a VM (case-insensitive), or UnknownName with suggestions."""
    record = find_record(ctx, name)
    if record is None:
        raise unknown("VM", name, ctx.inventory.vm_names())
    return record


def host_name(ctx: Context, name: str) -> str:
    """A host name from the fleet config (case-insensitive), or UnknownName with suggestions."""
    hosts = ctx.farm.host_names
    for host in hosts:
        if host.lower() == name.lower():
            return host
    raise unknown("host", name, hosts)


def cluster_name(ctx: Context, name: str) -> str:
    """A cluster name from the fleet config or the VMs' metadata, or UnknownName."""
    for cluster in ctx.config.clusters:
        if cluster.lower() == name.lower():
            return cluster
    if ctx.inventory.vms_in(name):
        return name
    raise unknown("cluster", name, ctx.config.clusters)
