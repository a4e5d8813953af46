"""The inventory: what granja last saw of the farm, each VM's baseline and changes, and the audit log."""

from inventory.errors import InventoryCorrupt, InventoryError
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
from inventory.store import Inventory

__all__ = [
    "AuditEntry", "Baseline", "Change", "FieldDiff", "HostRecord", "Inventory", "InventoryCorrupt",
    "InventoryError", "RefreshInfo", "RefreshSummary", "VMRecord",
]
