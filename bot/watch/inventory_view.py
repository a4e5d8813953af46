"""The inventory seen as the watcher sees the hosts, so that `check` reports the watcher's conditions.

Also the watcher's rules as the fleet config gives them: one reading for `check` and the watcher.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime

from bot.fleet import FleetConfig
from bot.watch.conditions import evaluate
from bot.watch.model import ClusterRule, Condition, RestartRules, Rules
from bot.watch.picture import HostSeen, Snapshot
from hypervisor.model import VMState
from inventory import Inventory
from inventory.errors import NoBaseline


def rules_of(config: FleetConfig, *, maintenance: Callable[[], Collection[str]] | None = None) -> Rules:
    """The watcher's rules from the fleet config: [watch] and the clusters with their min_running.

    With `maintenance` (the hosts marked now), host failures are simulated too (`resilience`);
    `check` has its own finding for that (inventory.health) and leaves it out.
    """
    watch = config.watch
    clusters = tuple(ClusterRule(c.name, c.pattern, c.min_running) for c in config.clusters.values())
    restart = None if maintenance is None else RestartRules(
        config.placement.limits, config.placement.shared_pools, config.pinned, maintenance)
    return Rules(clusters=clusters, pool_full=watch.pool_full, hold=dict(watch.hold),
                 notice_seconds=watch.notice_seconds, flap_seconds=watch.flap_seconds, restart=restart)


def inventory_snapshot(inventory: Inventory) -> Snapshot:
    """Hosts and VMs as the last refresh recorded them; a stray definition is a shut-off copy on its host.

    Where the inventory knows the VM runs there too, the copy is a running one.
    """
    hosts: dict[str, HostSeen] = {}
    for record in inventory.hosts():
        up = record.reachable and record.last_seen is not None
        down = record.unreachable_since
        hosts[record.name] = HostSeen(record.name, up=up, reason=record.reason,
                                      down_since=down.timestamp() if down else None, host=record.host)
    for vm_record in inventory.vms():
        vm = vm_record.vm
        hosts.setdefault(vm.host, HostSeen(vm.host)).vms[vm.name] = vm
        for other in vm_record.strays:
            state = VMState.RUNNING if other in vm_record.running_elsewhere else VMState.SHUTOFF
            hosts.setdefault(other, HostSeen(other)).vms[vm.name] = vm.with_state(state)
    return Snapshot(hosts=hosts, changes={})


def inventory_conditions(inventory: Inventory, rules: Rules, *, now: datetime) -> list[Condition]:
    """What the watcher would report of the farm the inventory records (no `for` times: it holds now)."""
    def drift(vm_name: str) -> list[str]:
        try:
            return [d.path for d in inventory.drift(vm_name)]
        except NoBaseline:
            return []

    snap = inventory_snapshot(inventory)
    return evaluate(snap, rules, now=now.timestamp(), ours=lambda _change: True,
                    drift=lambda vm: drift(vm.name))
