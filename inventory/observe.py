"""What one sighting, loss or removal of a VM changes: documents to write and changes to log.

First sight of a VM is logged as a "created" change (path "host", old None, new its host),
so every VM's history starts with where and when granja first saw it, and it gets a baseline
(its config at first sight) unless one with the same uuid is already kept from before.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from hypervisor.model import VM, usage_from_dict, vm_from_dict
from inventory import codec
from inventory.codec import Doc
from inventory.drift import diff_configs
from inventory.plan import Plan
from inventory.records import Baseline, Change, short_id


def see_vm(
    plan: Plan, vm: VM, *, at: datetime, at_iso: str, strays: Iterable[str], command: str, user: str,
    baseline_by: str = "", running: Iterable[str] = (),
) -> list[Change]:
    """Upsert a VM as seen now; take its first baseline or log what changed since last time.

    `baseline_by` names who accepted a new VM's first baseline ("" when taken at first sight);
    `running` the stray hosts where another copy of it runs too.
    """
    entry = plan.snap.vm_entries.get(vm.name)
    if vm.usage is not None and entry is not None:  # CPU use: the growth since the last reading
        vm = replace(vm, usage=vm.usage.with_cpu_percent(usage_from_dict(entry[1].get("usage"))))
    doc = codec.vm_doc(vm, last_seen=at_iso, stale_since=None, strays=strays, running=running)
    if vm.usage is None and entry is not None:  # seen by one look-up, not a refresh: keep the last reading
        doc["usage"] = entry[1].get("usage")
    if entry is None:
        doc_id = plan.new_id("vms")
        changes = [Change(vm.name, at, "created", "host", None, vm.host, command, user)]
        if baseline_by or not _baseline_still_valid(plan, vm):
            put_baseline(plan, vm, at=at, user=baseline_by)
    elif entry[1].get("vm") == doc["vm"]:  # the common case in a refresh: nothing to diff
        doc_id, changes = entry[0], []
    elif "definition" not in entry[1].get("vm", {}):
        # Recorded by a granja that read less of the XML: the new fields are no change in the VM.
        doc_id, changes = entry[0], []
    else:
        doc_id = entry[0]
        old = plan.snap.decode("vms", entry, lambda d: vm_from_dict(d["vm"]))
        changes = vm_changes(old, vm, at=at, command=command, user=user)
    plan.put("vms", doc_id, doc)
    plan.changes.extend(changes)
    return changes


def vm_changes(old: VM, new: VM, *, at: datetime, command: str, user: str) -> list[Change]:
    """Placement and config changes from a VM's previous sighting to this one."""
    changes = []
    if old.host != new.host:
        changes.append(Change(new.name, at, "placement", "host", old.host, new.host, command, user))
    for diff in diff_configs(old.config(), new.config()):
        changes.append(Change(new.name, at, "config", diff.path, diff.old, diff.new, command, user))
    return changes


def mark_stale(plan: Plan, names: Iterable[str], *, at_iso: str) -> int:
    """Set stale_since on VMs that are not stale yet (the earliest time is kept); count them all."""
    count = 0
    for name in names:
        doc_id, doc = plan.snap.vm_entries[name]
        count += 1
        if doc.get("stale_since") is None:
            plan.put("vms", doc_id, {**doc, "stale_since": at_iso})
    return count


def remove_vm(plan: Plan, name: str, *, at: datetime, command: str, user: str) -> Change | None:
    """Drop a VM's record, keeping its baseline and changes, and log the removal."""
    record = plan.snap.vm(name)
    if record is None:
        return None
    plan.drop("vms", plan.snap.vm_entries[name][0])
    change = Change(name, at, "removed", "host", record.vm.host, None, command, user)
    plan.changes.append(change)
    return change


def mark_host_unreachable(plan: Plan, name: str, *, reason: str, at_iso: str) -> None:
    """Record a host as unreachable since now (or since earlier), keeping what we knew of it."""
    entry = plan.snap.host_entries.get(name)
    if entry is None:
        doc = codec.host_doc(name, None, last_seen=None, unreachable_since=at_iso, reason=reason)
        plan.put("hosts", plan.new_id("hosts"), doc)
        return
    since = entry[1].get("unreachable_since") or at_iso
    plan.put("hosts", entry[0], {**entry[1], "unreachable_since": since, "reason": reason})


def put_baseline(plan: Plan, vm: VM, *, at: datetime, user: str) -> Baseline:
    """Take the VM's current config as its baseline, replacing any previous one."""
    baseline = Baseline(vm.name, short_id(), at, vm.config(), user)
    entry = plan.snap.baseline_entries.get(vm.name)
    doc_id = entry[0] if entry else plan.new_id("baselines")
    plan.put("baselines", doc_id, codec.baseline_doc(baseline))
    return baseline


def _baseline_still_valid(plan: Plan, vm: VM) -> bool:
    """A VM seen again after removal keeps its baseline if it is the same VM (same uuid)."""
    entry = plan.snap.baseline_entries.get(vm.name)
    config: Doc | None = entry[1].get("config") if entry else None
    return isinstance(config, dict) and config.get("uuid") == vm.uuid
