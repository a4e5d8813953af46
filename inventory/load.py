"""The farm's load as placement sees it, from the inventory: hosts, their VMs and maintenance marks."""

from __future__ import annotations

from hypervisor.placement import FarmLoad, Limits
from inventory.store import Inventory


def farm_load(inventory: Inventory, *, limits: Limits | None = None) -> FarmLoad:
    """Every recorded host's room with its recorded VMs counted; unreachable and marked hosts flagged."""
    hosts = inventory.hosts()
    return FarmLoad.build(
        (record.host for record in hosts),
        (record.vm for record in inventory.vms()),
        maintenance=inventory.maintenance().keys(),
        unreachable={record.name for record in hosts if not record.reachable},
        limits=limits,
    )
