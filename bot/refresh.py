"""Refreshing the inventory from every host at once."""

from __future__ import annotations

from datetime import datetime

from hypervisor.farm import Farm
from inventory import Inventory, RefreshSummary


def refresh_inventory(
    farm: Farm, inventory: Inventory, *, at: datetime, user: str, command: str = "refresh"
) -> tuple[RefreshSummary, dict[str, str]]:
    """Survey all hosts concurrently and record what they said; returns the unreachable hosts too."""
    survey = farm.survey()
    summary = inventory.record_refresh(
        # Every copy: where a VM is defined twice and runs nowhere, the inventory keeps the host it had.
        hosts=list(survey.hosts.values()), vms=survey.copies, unreachable=survey.unreachable,
        strays=survey.strays, at=at, duration_s=survey.seconds, command=command, user=user,
    )
    return summary, survey.unreachable
