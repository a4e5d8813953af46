"""The watcher's `resilience` condition: the farm no longer survives any single host failure.

The picture's hosts and VMs are played through the host failure simulation
(`hypervisor.resilience`) with the fleet config's placement rules and the
maintenance marks; one condition names the host whose loss would strand the
most members of clusters, in `check`'s words for that host.

The watcher evaluates on every event, so the work is kept to what changed:
a host whose VMs are the same objects as at the last evaluation keeps its
VMs as placement saw them, and the losses are played again only when
something the simulation reads changed (1,000 hosts / 20,000 VMs: see
benchmarks/resilience.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from bot.watch.model import Condition, RestartRules, Rules
from bot.watch.picture import HostSeen, Snapshot
from hypervisor.model import VM
from hypervisor.placement import FarmLoad, Guest
from hypervisor.resilience import HostLoss, Simulator, single_losses
from hypervisor.shared_storage import local_disks, shared_pool_names, why_local
from inventory.health import resilience_message
from inventory.natural import natural_key


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
    if restart.memo.get("inputs") != key:
        restart.memo["inputs"], restart.memo["losses"] = key, single_losses(sim)
    losses: tuple[HostLoss, ...] = restart.memo["losses"]
    return losses


@dataclass(frozen=True)
class _HostGuests:
    """One host's VMs as placement sees them, and the picture's VM objects they were made from."""

    vms: tuple[VM, ...]  # kept, so that an object's identity cannot be reused while it is the key
    guests: tuple[Guest, ...]
    local: dict[str, str]  # running VM -> why it cannot restart elsewhere (a disk only this host reaches)


def _simulator(snap: Snapshot, restart: RestartRules) -> Simulator:
    """Host losses played against the picture by `recover`'s rules, as `inventory.load` plays the records."""
    hosts = [seen.host for seen in snap.hosts.values() if seen.host is not None]
    shared = shared_pool_names((pool for host in hosts for pool in host.pools), restart.shared_pools)
    if restart.memo.get("shared") != shared:
        restart.memo["shared"], restart.memo["hosts"] = shared, {}
    known: dict[str, _HostGuests] = restart.memo["hosts"]
    guests: dict[str, Guest] = {}
    local: dict[str, str] = {}
    for seen in snap.hosts.values():
        mine = known.get(seen.name)
        if mine is None or len(mine.vms) != len(seen.vms) or any(
                a is not b for a, b in zip(mine.vms, seen.vms.values(), strict=True)):
            mine = known[seen.name] = _host_guests(seen, shared)
        for guest in mine.guests:
            if guest.name not in guests or guest.active:  # a VM on two hosts counts where it runs
                guests[guest.name] = guest
                local.pop(guest.name, None)
                if guest.name in mine.local:
                    local[guest.name] = mine.local[guest.name]
    load = FarmLoad.build(hosts, guests.values(), limits=restart.limits,
                          maintenance=set(restart.maintenance()),
                          unreachable={seen.name for seen in snap.hosts.values() if not seen.up})

    def blocked(guest: Guest) -> str:
        if restart.pinned.get(guest.name) == guest.host:
            return f"pinned to {guest.host} in the fleet config"
        return local.get(guest.name, "")

    return Simulator(load, list(guests.values()), blocked)


def _host_guests(seen: HostSeen, shared: frozenset[str]) -> _HostGuests:
    vms = tuple(seen.vms.values())
    local = {vm.name: why_local(disks[0], vm.host) for vm in vms
             if vm.state.active and (disks := local_disks(vm, shared))}
    return _HostGuests(vms, tuple(Guest.of(vm, need_pools=True) for vm in vms), local)
