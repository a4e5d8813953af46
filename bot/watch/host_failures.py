"""The watcher's `resilience` condition: the farm no longer survives any single host failure.

The picture's hosts and VMs are played through the host failure simulation
(`hypervisor.resilience`) with the fleet config's placement rules and the
maintenance marks; one condition names the host whose loss would strand the
most members of clusters, in `check`'s words for that host.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator

from bot.watch.model import Condition, RestartRules, Rules
from bot.watch.picture import Snapshot
from hypervisor.model import VM
from hypervisor.placement import FarmLoad, Guest
from hypervisor.resilience import HostLoss, Simulator, single_losses
from hypervisor.shared_storage import local_disks, shared_pool_names, why_local
from inventory.health import resilience_message
from inventory.natural import natural_key

# The last losses worked out, by what they were worked out from: the watcher evaluates on every
# event, and most events (a suspend, a VM seen again) leave placement as it was.
_LAST: dict[Hashable, tuple[HostLoss, ...]] = {}


def conditions(snap: Snapshot, rules: Rules, now: float) -> Iterator[Condition]:
    """The `resilience` condition if some host's loss would leave members of a cluster nowhere to go."""
    if rules.restart is None:
        return
    failing = [loss for loss in _losses(snap, rules.restart) if loss.members_stranded]
    if not failing:
        return
    worst = min(failing, key=lambda loss: (-len(loss.members_stranded), natural_key(loss.hosts[0])))
    host = worst.hosts[0]
    others = len(failing) - 1
    who = "1 other host's failure" if others == 1 else f"{others} other hosts' failures"
    more = f"; {who} would strand members too" if others else ""
    yield Condition(key="resilience", kind="resilience", subject=host,
                    message=resilience_message(worst) + more,
                    cleared="the farm survives any single host failure again", since=now,
                    remedy=f"resilience {host}", hosts=(host,),
                    vms=tuple(sorted((s.vm for s in worst.members_stranded), key=natural_key)))


def _losses(snap: Snapshot, restart: RestartRules) -> tuple[HostLoss, ...]:
    sim = _simulator(snap, restart)
    key = sim.inputs()
    known = _LAST.get(key)
    if known is None:
        known = single_losses(sim)
        _LAST.clear()
        _LAST[key] = known
    return known


def _simulator(snap: Snapshot, restart: RestartRules) -> Simulator:
    """Host losses played against the picture by `recover`'s rules, as `inventory.load` plays the records."""
    hosts = [seen.host for seen in snap.hosts.values() if seen.host is not None]
    shared = shared_pool_names((pool for host in hosts for pool in host.pools), restart.shared_pools)
    vms: dict[str, VM] = {}
    for seen in snap.hosts.values():
        for vm in seen.vms.values():
            if vm.name not in vms or vm.state.active:  # a VM on two hosts counts where it runs
                vms[vm.name] = vm
    local = {name: why_local(disks[0], vm.host) for name, vm in vms.items()
             if vm.state.active and (disks := local_disks(vm, shared))}
    guests = [Guest.of(vm, need_pools=True) for vm in vms.values()]
    load = FarmLoad.build(hosts, guests, limits=restart.limits, maintenance=set(restart.maintenance()),
                          unreachable={seen.name for seen in snap.hosts.values() if not seen.up})

    def blocked(guest: Guest) -> str:
        if restart.pinned.get(guest.name) == guest.host:
            return f"pinned to {guest.host} in the fleet config"
        return local.get(guest.name, "")

    return Simulator(load, guests, blocked)
