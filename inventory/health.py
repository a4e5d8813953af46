"""What in the farm needs attention, from the inventory alone: `check` in chat, the site's overview.

Kinds of finding: `spread` (members of one cluster share a host), `memory` and `vcpus` (a host
committed beyond its limits), `autostart` (a running VM a host restart would leave off),
`unreachable` and `stale` (hosts not answering, or not asked for too long), `drift` (a VM's
configuration differs from its baseline), `maintenance` (a host marked in maintenance still
holds VMs, or is left marked), `pinned` (a VM pinned to a host in the fleet config runs on
another), `stray` (a VM also defined on another host, as a recovered VM is on its old host),
`running_twice` (a VM running on two hosts at once: the watcher's condition of that name),
`bond` (a host's bond slave carries no traffic: link down, or in 802.3ad outside the active
aggregator), `resilience` (a host whose failure would leave members of a cluster with nowhere
to restart: the farm no longer survives one host failure), `local-storage` (a running member
of a cluster with a disk on storage only its host reaches: if that host dies, `recover` cannot
start it elsewhere).

Each finding has a severity, `info`, `warning` or `critical`, the same the watcher gives the
condition it also reports (bot/watch/model.py); `check` exits by them as a Nagios plugin.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypervisor.host_model import Bond
from hypervisor.model import gib
from hypervisor.placement import FarmLoad, Limits
from hypervisor.resilience import HostLoss, single_losses
from hypervisor.shared_storage import local_disks, shared_pool_names
from hypervisor.words import listed, plural
from inventory.drift import field_words
from inventory.errors import NoBaseline
from inventory.finding import Finding
from inventory.load import farm_load, restart_simulator
from inventory.maintenance import MaintenanceMark
from inventory.natural import natural_key
from inventory.records import HostRecord, VMRecord
from inventory.store import Inventory
from inventory.twice_words import running_twice_message

STALE_AFTER = timedelta(days=1)
# Kinds that are not warnings; the watcher's conditions for the same facts say the same.
SEVERITY = {"unreachable": "critical", "stray": "critical", "running_twice": "critical",
            "maintenance": "info", "autostart": "info", "drift": "info"}

VMS_NAMED = 20  # a silent host's message names at most this many of its VMs, then counts the rest


def findings(inventory: Inventory, *, limits: Limits | None = None, now: datetime | None = None,
             stale_after: timedelta = STALE_AFTER, pinned: Mapping[str, str] | None = None,
             shared_pools: Collection[str] | None = None,
             losses: Sequence[HostLoss] | None = None) -> list[Finding]:
    """Everything the inventory shows to need attention, worst kinds first; `pinned`: VM -> its host.

    `shared_pools` (pools the fleet config names shared, besides those shared by their type) is
    the restart rule the host failure simulation and the local-storage check need besides
    `pinned`; without it neither is looked at. `losses` are every host's loss, if the caller
    has simulated them already with the same rules (the site's host failure figure has).
    """
    vms = inventory.vms()
    hosts = inventory.hosts()
    load = farm_load(inventory, limits=limits)
    if shared_pools is not None and losses is None:
        losses = _single_losses(inventory, limits, shared_pools, pinned or {})
    found = [
        *_spread(load),
        *(_resilience(losses) if losses is not None and shared_pools is not None else ()),
        *(_local_storage(vms, hosts, shared_pools) if shared_pools is not None else ()),
        *_commitment(load),
        *_hosts(inventory, hosts, now or datetime.now(UTC), stale_after),
        *_bonds(hosts),
        *_maintenance(load, inventory.maintenance()),
        *_pinned(inventory, pinned or {}),
        *_autostart(vms),
        *_strays(vms),
        *_drift(inventory, vms),
    ]
    return [replace(f, severity=SEVERITY.get(f.kind, "warning")) for f in found]


def _spread(load: FarmLoad) -> Iterable[Finding]:
    for host, room in load.rooms.items():
        for cluster, members in sorted(room.members.items()):
            if len(members) > 1:
                yield Finding("spread", cluster, spread_message(cluster, members, host))


def spread_message(cluster: str, members: Iterable[str], host: str) -> str:
    """Members of a cluster sharing a host, in the words `check` and the watcher both use."""
    together = list(members)
    return (f"{', '.join(together)} of cluster {cluster} share {host}: "
            f"one host failure stops {len(together)} of them")


def _single_losses(inventory: Inventory, limits: Limits | None, shared_pools: Collection[str],
                   pinned: Mapping[str, str]) -> tuple[HostLoss, ...]:
    return single_losses(restart_simulator(inventory, limits=limits, shared_pools=shared_pools,
                                           pinned_host=lambda vm: pinned.get(vm, "")))


def _resilience(losses: Iterable[HostLoss]) -> Iterable[Finding]:
    for loss in losses:
        if loss.members_stranded:
            yield Finding("resilience", loss.hosts[0], resilience_message(loss))


def resilience_message(loss: HostLoss) -> str:
    """A host whose loss strands members of clusters, in the words `check` and the watcher both use."""
    stranded = loss.members_stranded
    host, first = loss.hosts[0], stranded[0]
    more = f" and {len(stranded) - 1} more" if len(stranded) > 1 else ""
    return (f"The farm no longer survives one host failure: {host}'s would leave {first.vm}{more} "
            f"with nowhere to go ({first.reason}); 'resilience {host}' shows its restart plan")


def _local_storage(vms: Iterable[VMRecord], hosts: Iterable[HostRecord],
                   named: Collection[str]) -> Iterable[Finding]:
    shared = {record.name: shared_pool_names(record.host.pools, named) for record in hosts}
    for record in vms:
        vm = record.vm
        if not vm.meta.cluster or not vm.state.active:
            continue
        local = local_disks(vm, shared.get(vm.host, frozenset(named)))
        if local:
            disk = local[0]
            where = f"pool {disk.pool}" if disk.pool else "no shared pool"
            yield Finding("local-storage", vm.name,
                          f"{vm.name} of cluster {vm.meta.cluster} runs from storage only {vm.host} reaches "
                          f"(disk {disk.target}, {disk.source}, in {where}): if {vm.host} fails, "
                          f"'recover {vm.host}' cannot start it elsewhere")


def _commitment(load: FarmLoad) -> Iterable[Finding]:
    limits = load.limits
    for host, room in load.rooms.items():
        memory = limits.memory_mib(room)
        if room.memory_used_mib > memory:
            yield Finding("memory", host, f"{host} has {gib(room.memory_used_mib)} committed to running "
                                          f"VMs, over its {gib(memory)}")
        cpus = limits.vcpus(room)
        if room.vcpus_used > cpus and room.cpus:
            yield Finding("vcpus", host, f"{host} has {room.vcpus_used} vCPUs committed to running VMs, "
                                         f"over its {cpus} ({room.cpus} cores × {limits.cpu_ratio:g})")


def _hosts(inventory: Inventory, hosts: Iterable[HostRecord], now: datetime, stale_after: timedelta
           ) -> Iterable[Finding]:
    for record in hosts:
        if record.last_seen is None or record.unreachable_since is not None:
            vms = sorted((vm.name for vm in inventory.vms_on(record.name)), key=natural_key)
            yield Finding("unreachable", record.name,
                          unreachable_message(record.name, record.unreachable_since, record.reason, vms))
        elif now - record.last_seen > stale_after:
            hours = (now - record.last_seen).total_seconds() / 3600
            yield Finding("stale", record.name, f"{record.name} was last asked {hours:.0f} h ago; "
                                                "run 'refresh' for current data")


def unreachable_message(host: str, since: datetime | None, reason: str | None, vms: Sequence[str] = ()
                        ) -> str:
    """How `check` and the watcher say a host does not answer: since when, why, and the VMs it ran."""
    when = f" since {since:%Y-%m-%d %H:%M} UTC" if since is not None else ""
    held = f"; it ran {plural(len(vms), 'VM')}: {listed(vms, shown=VMS_NAMED)}" if vms else ""
    return f"{host} is not answering{when}: {reason or 'never reached'}{held}"


def drift_message(vm: str, paths: Sequence[str]) -> str:
    """How `check` and the watcher say a VM differs from its baseline, in the fields' own words."""
    return (f"{vm} differs from its baseline in {plural(len(paths), 'field')}: "
            f"{listed([field_words(path) for path in paths])}")


def _bonds(hosts: Iterable[HostRecord]) -> Iterable[Finding]:
    for record in hosts:
        for bond in record.host.facts.bonds if record.host.facts else ():
            if bond.degraded_slaves:
                yield Finding("bond", record.name, bond_message(record.name, bond))


def bond_message(host: str, bond: Bond) -> str:
    """What is wrong with a degraded bond, in the words `check` and the watcher both use."""
    why = ", ".join(f"{s} ({bond.slave_problem(s)})" for s in bond.degraded_slaves)
    return f"{host}: {bond.name} ({bond.mode}) carries no traffic on {why}"


def _maintenance(load: FarmLoad, marks: Mapping[str, MaintenanceMark]) -> Iterable[Finding]:
    for host, mark in sorted(marks.items(), key=lambda item: natural_key(item[0])):
        held = load.rooms[host].guests if host in load.rooms else 0
        what = (f"still holds {held} VM{'s' * (held != 1)}; 'evacuate {host}' moves them" if held
                else f"'maintenance {host} off' when the work is done")
        yield Finding("maintenance", host, f"{host} is in maintenance since {mark.since:%Y-%m-%d %H:%M} UTC "
                                           f"(by {mark.by}): {what}")


def _pinned(inventory: Inventory, pinned: Mapping[str, str]) -> Iterable[Finding]:
    for name, host in sorted(pinned.items(), key=lambda item: natural_key(item[0])):
        record = inventory.vm(name)
        if record is not None and record.vm.host != host:
            yield Finding("pinned", name, f"{name} is pinned to {host} in the fleet config but is on "
                                          f"{record.vm.host}: 'migrate {name} to {host}' puts it back")


def _autostart(vms: Iterable[VMRecord]) -> Iterable[Finding]:
    for record in vms:
        vm = record.vm
        if vm.state.active and not vm.autostart:
            yield Finding("autostart", vm.name, f"{vm.name} runs without autostart: a restart of "
                                                f"{vm.host} would leave it off")


def _strays(vms: Iterable[VMRecord]) -> Iterable[Finding]:
    for record in vms:
        if record.running_elsewhere:
            yield Finding("running_twice", record.name,
                          running_twice_message(record.name, [record.vm.host, *record.running_elsewhere]))
        elif record.strays:
            yield Finding("stray", record.name, stray_message(record.name, [record.vm.host, *record.strays]))


def stray_message(vm: str, hosts: Iterable[str]) -> str:
    """A VM defined on several hosts, in the words `check` and the watcher both use."""
    where = ", ".join(sorted(set(hosts), key=natural_key))
    return (f"{vm} is defined on {where}: say 'repair {vm}' to keep the current definition and undefine "
            "the others (disks are not touched)")


def _drift(inventory: Inventory, vms: Iterable[VMRecord]) -> Iterable[Finding]:
    for record in vms:
        try:
            fields = inventory.drift(record.name)
        except NoBaseline:
            continue
        if fields:
            yield Finding("drift", record.name, drift_message(record.name, [d.path for d in fields]))
