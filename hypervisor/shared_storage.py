"""Which storage every host reaches: shared pools, and the disks a VM could not take to another host.

A pool is shared when libvirt's pool type says the storage lives on the network (iSCSI, NFS,
Ceph RBD, Gluster), or when the fleet config names it in `farm.shared_pools` (a pool of that
name is the same storage on every host, e.g. a cluster file system in a `dir` pool). A VM whose
disks are all on shared pools can be started on another host when its own host dies.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING

from hypervisor.model import VM, Disk

if TYPE_CHECKING:
    from hypervisor.host_model import Pool

# libvirt's pool types whose storage is on the network, reached the same from every host.
SHARED_POOL_TYPES = frozenset({"iscsi", "iscsi-direct", "netfs", "rbd", "gluster"})
ISCSI_PORT = "3260"


def pool_is_shared(pool: Pool, named: Collection[str] = ()) -> bool:
    """Whether a pool is storage other hosts reach: by its type, or named shared in the fleet config."""
    return pool.kind in SHARED_POOL_TYPES or pool.name in named


def shared_pool_names(pools: Iterable[Pool], named: Collection[str] = ()) -> frozenset[str]:
    """The names of a host's shared pools, and every pool the fleet config names shared."""
    return frozenset(named) | {pool.name for pool in pools if pool_is_shared(pool, named)}


def is_local(device: str, kind: str, pool: str, shared: Collection[str], *, unpooled: bool = True) -> bool:
    """Whether a disk (its device, libvirt disk type and pool) is one only its own host reaches.

    CD-ROMs and floppies do not count; a network disk (rbd, iscsi, nbd…) is reached over the
    network from any host; a disk in no pool at all (a file libvirt has no pool for) counts
    unless `unpooled` is False. The one rule for `recover`, placement and the host failure
    simulation (which reads stored records without decoding them).
    """
    return device in ("disk", "lun") and kind != "network" and pool not in shared and bool(unpooled or pool)


def local_disks(vm: VM, shared: Collection[str], *, unpooled: bool = True) -> list[Disk]:
    """The VM's disks outside the `shared` pools: only its own host reaches them (see `is_local`)."""
    return [disk for disk in vm.disks
            if is_local(disk.device, disk.kind, disk.pool, shared, unpooled=unpooled)]


def why_local(target: str, source: str, pool: str, host: str) -> str:
    """Why a VM with this disk cannot run on another host, in the words `recover` uses."""
    where = f"pool {pool}" if pool else "no storage pool"
    return f"its disk {target} ({source}) is in {where}, which is not shared: only {host} reaches it"


def only_here(vm: VM, host: str, shared: Collection[str], *, unpooled: bool = True) -> str:
    """Why the VM cannot run on another host (a disk only `host` reaches), or "" if it can."""
    local = local_disks(vm, shared, unpooled=unpooled)
    return why_local(local[0].target, local[0].source, local[0].pool, host) if local else ""


def iscsi_volume_paths(domain_xml: str) -> dict[str, str]:
    """Each iSCSI LUN disk's volume path in an `iscsi`/`iscsi-direct` pool, keyed by disk target.

    The path (`ip-HOST:PORT-iscsi-IQN-lun-N`, the udev by-path name) is how a LUN that a guest
    uses straight (a network disk) is found in the pool that holds it.
    """
    paths: dict[str, str] = {}
    for disk in ET.fromstring(domain_xml).findall("devices/disk[@type='network']"):
        source, target = disk.find("source[@protocol='iscsi']"), disk.find("target")
        host = source.find("host") if source is not None else None
        if source is None or host is None or target is None or "/" not in source.get("name", ""):
            continue
        iqn, lun = source.get("name", "").rsplit("/", 1)
        paths[target.get("dev", "")] = (f"ip-{host.get('name', '')}:{host.get('port', ISCSI_PORT)}"
                                        f"-iscsi-{iqn}-lun-{lun}")
    return paths
