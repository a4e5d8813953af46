"""What `check` reports, for the chat and the site's overview alike: one list, worst first.

Every health finding of the inventory (inventory.health), then the watcher's other conditions
(a cluster below its min_running, a VM running twice, a pool nearly full) in the watcher's words
and severities. Where both see the same fact (SAME_FACT), health's finding is the one reported,
with the watcher's severity.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.fleet import FleetConfig
from bot.watch.inventory_view import inventory_conditions, rules_of
from bot.watch.model import Rules, Severity
from hypervisor.resilience import HostLoss
from inventory.finding import Finding
from inventory.health import findings
from inventory.store import Inventory

# The watcher's kinds that inventory.health also reports, as health's kind (same severity).
SAME_FACT = {"spread_broken": "spread", "host_unreachable": "unreachable", "bond_degraded": "bond",
             "defined_twice": "stray", "drift": "drift", "resilience": "resilience",
             "running_twice": "running_twice"}


def farm_findings(inventory: Inventory, config: FleetConfig, *, now: datetime,
                  losses: Sequence[HostLoss] | None = None) -> list[Finding]:
    """Everything that needs attention, critical first, then warnings, then notes (each kept in its order).

    `losses` are every host's loss if the caller has simulated them already with the config's
    placement rules (the site's host failure figure has); None, they are simulated here.
    """
    placement = config.placement
    found = findings(inventory, limits=placement.limits, now=now, pinned=config.pinned,
                     shared_pools=placement.shared_pools, losses=losses)
    conditions = inventory_conditions(inventory, _rules(config), now=now)
    found += [Finding(c.kind, c.subject, c.message, c.severity.word) for c in conditions
              if c.kind not in SAME_FACT]
    return sorted(found, key=lambda finding: -Severity.named(finding.severity))  # stable: kept in order


# The watcher's rules for the config last asked about: they remember which cluster each VM name
# belongs to, and working that out again matched every VM against every cluster's pattern (4 s of
# a republish at 5,000 VMs). A new config (a reload) is a new object, and gets rules of its own.
_kept: list[tuple[FleetConfig, Rules]] = []


def _rules(config: FleetConfig) -> Rules:
    if not _kept or _kept[0][0] is not config:
        _kept[:] = [(config, rules_of(config))]
    return _kept[0][1]
