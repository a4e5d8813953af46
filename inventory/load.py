"""The farm's load as placement sees it, from the inventory: hosts, their VMs and maintenance marks."""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING

from hypervisor.model import VMState, disk_from_dict
from hypervisor.placement import FarmLoad, Guest, Limits
from hypervisor.shared_storage import is_local, shared_pool_names, why_local
from inventory.codec import Doc
from inventory.index import Snapshot

if TYPE_CHECKING:
    from hypervisor.resilience import Proposal, Simulator
    from inventory.store import Inventory

_ACTIVE = {state.value for state in VMState if state.active}


def farm_load(inventory: Inventory, *, limits: Limits | None = None) -> FarmLoad:
    """Every recorded host's room with its recorded VMs counted; unreachable and marked hosts flagged."""
    hosts = inventory.hosts()
    return FarmLoad.build(
        (record.host for record in hosts),
        inventory.guests(),
        maintenance=inventory.maintenance().keys(),
        unreachable={record.name for record in hosts if not record.reachable},
        limits=limits,
    )


def guests_in(snap: Snapshot) -> list[Guest]:
    """Every recorded VM as placement sees it, read from the documents without decoding whole records.

    Decoding 20,000 full records takes about 2 s; these few fields take a fiftieth of that.
    """
    return [snap.decode("vms", entry, _guest) for entry in snap.vm_entries.values()]


def _guest(doc: Doc) -> Guest:
    vm = doc["vm"]
    return Guest(name=vm["name"], vcpus=int(vm["vcpus"]), memory_mib=int(vm["memory_mib"]),
                 cluster=str(vm.get("meta", {}).get("cluster", "")), active=vm["state"] in _ACTIVE,
                 host=vm["host"])


def restart_guests_in(snap: Snapshot, shared_pools: Collection[str]) -> tuple[list[Guest], dict[str, str]]:
    """Every VM as a restart elsewhere sees it (with its disks' pools), and why some cannot restart at all.

    The second value maps a VM with a disk that only its own host reaches (a disk outside the
    shared pools, or in no pool) to that reason, as `recover` words it.
    """
    guests: list[Guest] = []
    local: dict[str, str] = {}
    for entry in snap.vm_entries.values():
        guest, reason = snap.decode("vms", entry, lambda doc: _restart_guest(doc, shared_pools))
        guests.append(guest)
        if reason:
            local[guest.name] = reason
    return guests, local


def _restart_guest(doc: Doc, shared_pools: Collection[str]) -> tuple[Guest, str]:
    vm = doc["vm"]
    disks = [d for d in vm.get("disks", ()) if d.get("device", "disk") in ("disk", "lun")]
    pools = frozenset(str(d["pool"]) for d in disks if d.get("pool"))
    local = [d for d in disks if is_local(d.get("device", "disk"), d.get("kind", ""), d.get("pool", ""),
                                          shared_pools, hosts=d.get("hosts", ()))]
    reason = why_local(disk_from_dict(local[0]), vm["host"]) if local else ""
    guest = Guest(name=vm["name"], vcpus=int(vm["vcpus"]), memory_mib=int(vm["memory_mib"]),
                  cluster=str(vm.get("meta", {}).get("cluster", "")), active=vm["state"] in _ACTIVE,
                  host=vm["host"], pools=pools)
    return guest, reason


def restart_simulator(inventory: Inventory, *, limits: Limits | None, shared_pools: Collection[str],
                      pinned_host: Callable[[str], str], change: Proposal | None = None) -> Simulator:
    """Host losses played against the recorded farm (or as it would be after `change`), by `recover`'s rules.

    `pinned_host` names the host a VM is pinned to ("" for none): a pinned VM restarts nowhere else.
    """
    # Shared: the pools named so, and those shared by their type on any recorded host.
    recorded = (pool for record in inventory.hosts() for pool in record.host.pools)
    shared = shared_pool_names(recorded, shared_pools)
    guests, local = inventory.restart_guests(shared)
    load = farm_load(inventory, limits=limits)
    if change is not None:
        load = copy.deepcopy(load)
        guests = change.apply(load, guests)

    def blocked(guest: Guest) -> str:
        pinned = pinned_host(guest.name)
        if pinned and pinned == guest.host:
            return f"pinned to {pinned} in the fleet config"
        return local.get(guest.name, "")

    from hypervisor.resilience import Simulator  # only where host losses are played: not for every question

    return Simulator(load, guests, blocked)
