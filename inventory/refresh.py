"""One refresh of the farm as a plan: sightings, stale marks, removals and host states.

A refresh speaks only for the hosts it names, reachable or not: VMs recorded on a host it
does not mention are left as they are, so refreshing part of the farm is safe. VMs recorded
on an unreachable host (and not seen elsewhere) keep their record, marked stale since the
first refresh that missed them; VMs recorded on a reachable host and seen nowhere are removed,
their baseline and changes kept. A VM seen on
several hosts is recorded where it is active (else where it was before, else on the first
host in natural order); the other hosts are listed as its strays, and those where another copy
runs too (split brain) as its `running_elsewhere`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from hypervisor.host_model import Host, starts_from_dict
from hypervisor.model import VM, to_dict, usage_from_dict
from hypervisor.uptime import steady_starts
from inventory import codec
from inventory.index import Snapshot
from inventory.natural import natural_key
from inventory.observe import mark_host_unreachable, mark_stale, remove_vm, see_vm
from inventory.plan import Plan
from inventory.records import RefreshInfo, RefreshSummary

Sighting = tuple[VM, tuple[str, ...], tuple[str, ...]]  # the VM as recorded, its strays, those running it


def plan_refresh(
    plan: Plan,
    *,
    hosts: Sequence[Host],
    vms: Sequence[VM],
    unreachable: Mapping[str, str],
    strays: Mapping[str, Sequence[str]],
    at: datetime,
    duration_s: float,
    command: str,
    user: str,
) -> RefreshSummary:
    """Add a whole refresh to `plan` and count what it changes."""
    reachable = _reachable_hosts(hosts, vms, unreachable)
    snap, at_iso = plan.snap, codec.iso(at)
    sightings = choose_sightings(vms, snap, reachable, strays)
    new = changed = 0
    for vm, elsewhere, running in sightings.values():
        known = vm.name in snap.vm_entries
        changes = see_vm(plan, vm, at=at, at_iso=at_iso, strays=elsewhere, command=command, user=user,
                         running=running)
        new += not known
        changed += known and bool(changes)
    stale = mark_stale(plan, _unseen(snap, unreachable, sightings), at_iso=at_iso)
    gone = _unseen(snap, reachable, sightings)
    for name in gone:
        remove_vm(plan, name, at=at, command=command, user=user)
    _record_hosts(plan, hosts, unreachable, at_iso=at_iso)
    info = RefreshInfo(
        at, duration_s, tuple(sorted(reachable, key=natural_key)), dict(unreachable), len(sightings)
    )
    meta = snap.meta_entry("last_refresh")
    plan.put("meta", meta[0] if meta else plan.new_id("meta"), codec.refresh_doc(info))
    return RefreshSummary(
        vms=len(sightings),
        hosts_ok=len(reachable),
        unreachable=len(unreachable),
        changed=changed,
        new=new,
        removed=len(gone),
        stale=stale,
    )


def choose_sightings(
    vms: Iterable[VM], snap: Snapshot, reachable: set[str], given: Mapping[str, Sequence[str]]
) -> dict[str, Sighting]:
    """Pick, per VM name, the definition to record and the hosts holding stray ones."""
    groups: dict[str, list[VM]] = {}
    for vm in vms:
        groups.setdefault(vm.name, []).append(vm)
    out: dict[str, Sighting] = {}
    for name, seen in groups.items():
        entry = snap.vm_entries.get(name)
        old = entry[1] if entry else {}
        before = old.get("vm", {}).get("host")
        if len(seen) > 1:
            seen.sort(key=lambda v: (not v.state.active, v.host != before, natural_key(v.host)))
        # Strays on hosts this refresh could not ask are still there as far as we know.
        kept = [h for h in old.get("strays", ()) if h not in reachable]
        strays = {v.host for v in seen[1:]}.union(kept, given.get(name, ())) - {seen[0].host}
        # Active copies sort first: another active one means the VM runs on two hosts at once.
        running = {v.host for v in seen[1:] if v.state.active}.union(
            h for h in old.get("running_elsewhere", ()) if h not in reachable) & strays
        out[name] = (seen[0], tuple(sorted(strays, key=natural_key)), tuple(sorted(running, key=natural_key)))
    return out


def _record_hosts(plan: Plan, hosts: Sequence[Host], unreachable: Mapping[str, str], *, at_iso: str) -> None:
    """Upsert the hosts that answered; mark the others unreachable, keeping their last data."""
    for host in hosts:
        entry = plan.snap.host_entries.get(host.name)
        doc_id = entry[0] if entry else plan.new_id("hosts")
        if host.usage is not None and entry is not None and entry[1].get("host"):
            before = usage_from_dict(entry[1]["host"].get("usage"))
            host = replace(host, usage=host.usage.with_cpu_percent(before))
        earlier = entry[1].get("host", {}).get("facts") if entry is not None else None
        if host.facts is not None and earlier:  # a start read again a second off is the same start
            host = replace(host, facts=steady_starts(host.facts, starts_from_dict(earlier)))
        doc = codec.host_doc(
            host.name, to_dict(host), last_seen=at_iso, unreachable_since=None, reason=""
        )
        plan.put("hosts", doc_id, doc)
    for name, reason in unreachable.items():
        mark_host_unreachable(plan, name, reason=reason, at_iso=at_iso)


def _reachable_hosts(hosts: Sequence[Host], vms: Sequence[VM], unreachable: Mapping[str, str]) -> set[str]:
    """Names of the reachable hosts, after checking the refresh's parts agree."""
    reachable = {host.name for host in hosts}
    both = reachable & unreachable.keys()
    if both:
        raise ValueError(f"hosts both reachable and unreachable: {sorted(both)}")
    for vm in vms:
        if vm.host not in reachable:
            raise ValueError(f"VM {vm.name} is on {vm.host}, not a reachable host of this refresh")
    return reachable


def _unseen(snap: Snapshot, hosts: Iterable[str], seen: Mapping[str, Sighting]) -> list[str]:
    """VMs recorded on these hosts that this refresh did not see anywhere."""
    return [name for host in hosts for name in snap.by_host.get(host, ()) if name not in seen]
