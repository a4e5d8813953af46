"""The Inventory: granja's memory of the farm, in a state directory.

Files: inventory.json (TinyDB tables hosts, vms, baselines, changes, meta), audit/YYYY-MM.jsonl
(one JSON line per entry, only appended to, a file a month; see inventory.audit), and a lock
file for each. Reads of inventory.json go through in-memory indexes rebuilt only when the file
changes; each write method is one locked read-modify-write and one atomic write.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from hypervisor.model import VM
from inventory import codec
from inventory.audit import AuditLog
from inventory.drift import diff_configs
from inventory.errors import NoBaseline, UnknownVM
from inventory.index import Snapshot
from inventory.natural import natural_key
from inventory.observe import mark_host_unreachable, mark_stale, put_baseline, remove_vm, see_vm
from inventory.plan import Plan
from inventory.records import (
    AuditEntry,
    Baseline,
    Change,
    FieldDiff,
    HostRecord,
    RefreshInfo,
    RefreshSummary,
    VMRecord,
)
from inventory.storage import AtomicJSONStorage

if TYPE_CHECKING:
    from hypervisor.host_model import Host
    from hypervisor.placement import Guest
    from inventory.maintenance import MaintenanceMark
    from inventory.usage import HostUsage

T = TypeVar("T")


class Inventory:
    """What granja last saw of each host and VM, their baselines and changes, and the audit."""

    def __init__(self, state_dir: Path) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        self.directory = state_dir
        self._storage = AtomicJSONStorage(
            state_dir / "inventory.json", lock_path=state_dir / "inventory.lock"
        )
        self._audit = AuditLog(state_dir / "audit")
        self._snap: Snapshot | None = None

    # Reads: one stat of the file, then dict lookups.

    def vm(self, name: str) -> VMRecord | None:
        """The VM's last known record, or None."""
        return self._current().vm(name)

    def vms(self) -> list[VMRecord]:
        """Every VM, in natural order of name."""
        snap = self._current()
        return snap.vms(snap.vm_order)

    def vms_on(self, host: str) -> list[VMRecord]:
        """The VMs recorded on a host, in natural order."""
        snap = self._current()
        return snap.vms(snap.by_host.get(host, []))

    def vms_in(self, cluster: str) -> list[VMRecord]:
        """The VMs of a cluster (their meta.cluster), in natural order."""
        snap = self._current()
        return snap.vms(snap.by_cluster.get(cluster, []))

    def vm_names(self) -> list[str]:
        """Every VM name, in natural order."""
        return list(self._current().vm_order)

    def host_names(self) -> list[str]:
        """Every host name, in natural order."""
        return list(self._current().host_order)

    def host(self, name: str) -> HostRecord | None:
        """The host's last known record, or None."""
        return self._current().host(name)

    def hosts(self) -> list[HostRecord]:
        """Every host, in natural order of name."""
        snap = self._current()
        return [record for name in snap.host_order if (record := snap.host(name))]

    def baseline(self, name: str) -> Baseline | None:
        """The VM's baseline (kept after the VM is removed), or None."""
        return self._current().baseline(name)

    def baselines(self) -> dict[str, Baseline]:
        """Every baseline by VM name, for reading only: their configs are the inventory's own, not copies."""
        snap = self._current()
        return {name: baseline for name in snap.baseline_entries
                if (baseline := snap.baseline(name, private=False)) is not None}

    def changes(self, vm: str | None = None, limit: int = 50) -> list[Change]:
        """Logged changes, newest first, of one VM or of all."""
        return self._current().changes(vm, max(limit, 0))

    def drift(self, name: str) -> list[FieldDiff]:
        """How the VM's current config differs from its baseline; UnknownVM if not known."""
        snap = self._current()
        record, baseline = snap.vm(name), snap.baseline(name, private=False)
        if record is None:
            raise UnknownVM(name)
        if baseline is None:
            raise NoBaseline(name)
        # Compared in place; the few values that differ are copied out of the inventory's own.
        return copy.deepcopy(diff_configs(baseline.config, record.vm.config()))

    def audit(self, vm: str | None = None, limit: int = 20) -> list[AuditEntry]:
        """Audit entries, newest first, of one VM or of all."""
        return self._audit.entries(vm=vm, limit=limit)

    def audit_matching(self, keep: Callable[[AuditEntry], bool], *, limit: int = 20,
                       since: datetime | None = None) -> list[AuditEntry]:
        """Audit entries, newest first, that `keep` accepts and none older than `since`."""
        return self._audit.matching(keep, limit=limit, since=since)

    def audit_damage(self) -> list[str]:
        """What the audit reads so far had to skip (a line cut short, a damaged file), one sentence each."""
        return self._audit.damage()

    def usage(self) -> dict[str, HostUsage]:
        """Per host: memory and vCPUs of its active VMs, and the clusters with a member there."""
        from inventory.usage import host_usage  # the farm's load: not read for a question on one VM

        return host_usage(self._current())

    def macs(self) -> set[str]:
        """Every NIC MAC of every known VM, in lower case: what a new MAC must not be."""
        from inventory.usage import nic_macs  # as in usage()

        return nic_macs(self._current())

    def disk_users(self) -> dict[str, list[str]]:
        """Each disk source of a known VM with the VMs using it: whether a disk is shared."""
        from inventory.usage import disk_users  # as in usage()

        return disk_users(self._current())

    def last_refresh(self) -> RefreshInfo | None:
        """When the last refresh ran and which hosts answered, or None before the first."""
        return self._current().last_refresh()

    def guests(self) -> list[Guest]:
        """Every VM's host, size, cluster and whether it runs: what placement needs, read fast."""
        from inventory.load import guests_in  # placement code: a question about one VM never loads it

        return guests_in(self._current())

    def restart_guests(self, shared_pools: Collection[str]) -> tuple[list[Guest], dict[str, str]]:
        """Every VM with its disks' pools, and why some could not restart on another host (local disks)."""
        from inventory.load import restart_guests_in  # placement code, as in guests()

        return restart_guests_in(self._current(), shared_pools)

    def maintenance(self) -> dict[str, MaintenanceMark]:
        """Hosts marked in maintenance (kept out of new placements), by name."""
        from inventory.maintenance import marks  # placement's concern: not read for a question on one VM

        return marks(self._current())

    # Writes: each is one locked read-modify-write of inventory.json and one atomic write.

    def record_refresh(
        self,
        *,
        hosts: Sequence[Host],
        vms: Sequence[VM],
        unreachable: Mapping[str, str],
        at: datetime,
        duration_s: float,
        strays: Mapping[str, Sequence[str]] | None = None,
        command: str = "refresh",
        user: str = "",
    ) -> RefreshSummary:
        """Record a whole refresh (see inventory.refresh for the rules) in one write.

        `strays` maps a VM name to other hosts holding an inactive definition of it; copies
        of one name in `vms` are settled here too, so callers may do either.
        """
        from inventory.refresh import plan_refresh  # a whole refresh's rules (and hosts' model)

        at = codec.utc(at)
        return self._write(
            lambda plan: plan_refresh(
                plan,
                hosts=hosts,
                vms=vms,
                unreachable=unreachable,
                strays=strays or {},
                at=at,
                duration_s=duration_s,
                command=command,
                user=user,
            )
        )

    def record_vm(
        self, vm: VM, *, at: datetime, command: str, user: str, baseline_by: str = "",
        strays: Sequence[str] | None = None, running: Sequence[str] = (),
    ) -> list[Change]:
        """Record a VM as just seen after an action; return the changes it logged.

        The VM is no longer stale; its host's record is left for the next refresh to update. A VM
        new to the inventory gets its configuration as baseline, taken by `baseline_by` (e.g. the
        admin who created it) or, by default, automatically. `strays`, when given, replaces the
        hosts known to hold other definitions of it (after `repair` removed them), and `running`
        those of them where that copy runs too.
        """
        at = codec.utc(at)

        def build(plan: Plan) -> list[Change]:
            old = plan.snap.vm(vm.name)
            if strays is None:
                others = [h for h in old.strays if h != vm.host] if old else []
                both = [h for h in old.running_elsewhere if h != vm.host] if old else []
            else:
                others, both = list(strays), [h for h in running if h in strays]
            return see_vm(plan, vm, at=at, at_iso=codec.iso(at), strays=others, command=command, user=user,
                          baseline_by=baseline_by, running=both)

        return self._write(build)

    def note_copies(self, name: str, *, strays: Sequence[str], running: Sequence[str] = ()) -> bool:
        """Record which other hosts hold a definition of a known VM, and where it runs too, as a look found.

        Nothing else of its record changes and no change is logged; False if nothing differs.
        """
        def build(plan: Plan) -> bool:
            entry = plan.snap.vm_entries.get(name)
            if entry is None:
                return False
            doc = {k: v for k, v in entry[1].items() if k != "running_elsewhere"}
            doc["strays"] = list(strays)
            if both := [h for h in running if h in strays]:
                doc["running_elsewhere"] = both
            if doc == entry[1]:
                return False
            plan.put("vms", entry[0], doc)
            return True

        return self._write(build)

    def running_copies_on(self, host: str) -> list[VMRecord]:
        """VMs recorded on another host that run on `host` too (split brain), in natural order."""
        snap = self._current()
        return snap.vms(snap.running_elsewhere.get(host, []))

    def running_twice(self) -> list[VMRecord]:
        """Every VM known to run on two or more hosts at once, in natural order."""
        snap = self._current()
        return snap.vms(sorted({n for names in snap.running_elsewhere.values() for n in names},
                               key=natural_key))

    def record_host_unreachable(self, host: str, *, reason: str, at: datetime) -> None:
        """Mark a host unreachable and its VMs stale, keeping what was known of them."""
        at_iso = codec.iso(at)

        def build(plan: Plan) -> None:
            mark_host_unreachable(plan, host, reason=reason, at_iso=at_iso)
            mark_stale(plan, plan.snap.by_host.get(host, []), at_iso=at_iso)

        self._write(build)

    def forget_vm(self, name: str, *, at: datetime, command: str, user: str) -> Change | None:
        """Drop a VM (e.g. after undefine), logging a "removed" change; None if it was unknown."""
        at = codec.utc(at)
        return self._write(lambda plan: remove_vm(plan, name, at=at, command=command, user=user))

    def set_baseline(self, name: str, *, at: datetime, user: str, command: str = "") -> Baseline:
        """Accept the VM's current config as its baseline; UnknownVM if it is not known.

        With a `command` the acceptance is logged as a "baseline" change (old and new baseline ids).
        """
        at = codec.utc(at)

        def build(plan: Plan) -> Baseline:
            record = plan.snap.vm(name)
            if record is None:
                raise UnknownVM(name)
            old = plan.snap.baseline(name)
            baseline = put_baseline(plan, record.vm, at=at, user=user)
            if command:
                plan.changes.append(Change(name, at, "baseline", "baseline", old.id if old else None,
                                           baseline.id, command, user))
            return baseline

        return self._write(build)

    def set_maintenance(self, host: str, *, on: bool, at: datetime, user: str) -> bool:
        """Mark a host in maintenance or clear the mark; False if it already was as asked."""
        from inventory.maintenance import put_mark  # as in maintenance()

        at = codec.utc(at)
        return self._write(lambda plan: put_mark(plan, host, on=on, at=at, user=user))

    def record_audit(self, entry: AuditEntry) -> AuditEntry:
        """Append an audit entry (an id is generated if it has none); return it as stored."""
        return self._audit.record(entry)

    def record_audits(self, entries: list[AuditEntry]) -> None:
        """Append many audit entries at once: one write per month, not one per entry (a burst of alerts)."""
        self._audit.record_many(entries)

    def close(self) -> None:
        """Release open file descriptors; the object must not be used afterwards."""
        self._storage.close()
        self._audit.close()

    def _current(self) -> Snapshot:
        generation, data = self._storage.snapshot()
        snap = self._snap
        if snap is None or snap.generation != generation:
            snap = self._snap = Snapshot(data, generation=generation, path=self._storage.path)
        return snap

    def _write(self, build: Callable[[Plan], T]) -> T:
        """Plan against the freshest data under the lock, then apply it as one write."""
        with self._storage.transaction():
            plan = Plan(self._current())
            result = build(plan)
            plan.apply(self._storage)
        return result
