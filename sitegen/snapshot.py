"""Everything the site shows, read from the inventory in one go before any page is written."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Protocol

from inventory.disclosure import is_private, redact_entry
from inventory.drift import diff_configs
from inventory.maintenance import MaintenanceMark
from inventory.records import AuditEntry, Baseline, Change, FieldDiff, HostRecord, RefreshInfo, VMRecord

CHANGES_PER_VM = 50
AUDIT_ENTRIES = 200


class InventoryReader(Protocol):
    """The part of `inventory.Inventory` the site reads: sitegen never writes, nor asks libvirt."""

    def vms(self) -> list[VMRecord]:
        """Every VM, in natural order of name."""
        ...

    def hosts(self) -> list[HostRecord]:
        """Every host, in natural order of name."""
        ...

    def last_refresh(self) -> RefreshInfo | None:
        """The last refresh, or None before the first."""
        ...

    def changes(self, vm: str | None = None, limit: int = 50) -> list[Change]:
        """Logged changes, newest first."""
        ...

    def baselines(self) -> dict[str, Baseline]:
        """Every baseline by VM name (kept after a VM is removed), for reading only."""
        ...

    def audit(self, vm: str | None = None, limit: int = 20) -> list[AuditEntry]:
        """Audit entries, newest first."""
        ...

    def audit_matching(self, keep: Callable[[AuditEntry], bool], *, limit: int = 20) -> list[AuditEntry]:
        """Audit entries, newest first, that `keep` accepts."""
        ...

    def maintenance(self) -> dict[str, MaintenanceMark]:
        """Hosts marked in maintenance, by name."""
        ...


@dataclass(frozen=True)
class FarmView:
    """One snapshot of the inventory: every page is rendered from the same one."""

    vms: tuple[VMRecord, ...]
    hosts: tuple[HostRecord, ...]
    last_refresh: RefreshInfo | None
    changes: dict[str, tuple[Change, ...]]  # VM name -> its recent changes, newest first
    baselines: dict[str, Baseline]  # VM name -> its baseline, for VMs that have one
    audit: tuple[AuditEntry, ...] = ()  # recent commands, newest first
    maintenance: dict[str, MaintenanceMark] = field(default_factory=dict)  # host name -> its mark

    def state_counts(self) -> list[tuple[str, int]]:
        """How many VMs are in each state, most common first (ties by name)."""
        counts = Counter(record.vm.state.value for record in self.vms)
        return sorted(counts.items(), key=lambda item: (-item[1], item[0]))

    def stale_count(self) -> int:
        """How many VMs are kept from an earlier sighting because their host did not answer."""
        return sum(record.stale_since is not None for record in self.vms)

    def drift(self, record: VMRecord) -> list[FieldDiff] | None:
        """How the VM differs from its baseline, or None when it has no baseline."""
        baseline = self.baselines.get(record.vm.name)
        return None if baseline is None else diff_configs(baseline.config, record.vm.config())


def gather(inventory: InventoryReader, *, changes_per_vm: int = CHANGES_PER_VM,
           audit_entries: int = AUDIT_ENTRIES,
           audit_keep: Callable[[AuditEntry], bool] | None = None) -> FarmView:
    """Read the VMs, hosts, last refresh, baselines, changes and audit into one FarmView.

    `audit_keep` chooses the audit entries the site shows (the caller's notion of a change); None, all.
    """
    # The full definitions are for `recover` only: no page or export holds them.
    vms = tuple(replace(r, vm=replace(r.vm, definition="")) if r.vm.definition else r
                for r in inventory.vms())
    every_baseline = inventory.baselines()
    return FarmView(
        vms=vms,
        hosts=tuple(inventory.hosts()),
        last_refresh=inventory.last_refresh(),
        changes={
            record.vm.name: tuple(inventory.changes(vm=record.vm.name, limit=changes_per_vm))
            for record in vms
        },
        baselines={record.vm.name: every_baseline[record.vm.name] for record in vms
                   if record.vm.name in every_baseline},
        # Never the site: entries from direct messages and private channels; secrets masked always.
        audit=tuple(redact_entry(entry) for entry in (
            inventory.audit(limit=audit_entries * 4) if audit_keep is None
            else inventory.audit_matching(lambda e: not is_private(e) and audit_keep(e), limit=audit_entries))
                    if not is_private(entry))[:audit_entries],
        maintenance=inventory.maintenance(),
    )
