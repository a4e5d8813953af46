"""Which storage every host reaches: shared pools, and the disks a VM could not take to another host.

A pool is shared when libvirt's pool type says the storage lives on the network (iSCSI, NFS,
Ceph RBD, Gluster), or when the fleet config names it in `farm.shared_pools` (a pool of that
name is the same storage on every host, e.g. a cluster file system in a `dir` pool). A VM whose
disks are all on shared pools can be started on another host when its own host dies.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Collection, Iterable

from hypervisor.model import VM, Disk, Pool

# libvirt's pool types whose storage is on the network, reached the same from every host.
SHARED_POOL_TYPES = frozenset({"iscsi", "iscsi-direct", "netfs", "rbd", "gluster"})
ISCSI_PORT = "3260"


def pool_is_shared(pool: Pool, named: Collection[str] = ()) -> bool:
    """Whether a pool is storage other hosts reach: by its type, or named shared in the fleet config."""
    return pool.kind in SHARED_POOL_TYPES or pool.name in named


def shared_pool_names(pools: Iterable[Pool], named: Collection[str] = ()) -> frozenset[str]:
    """The names of a host's shared pools, and every pool the fleet config names shared."""
    return frozenset(named) | {pool.name for pool in pools if pool_is_shared(pool, named)}


def local_disks(vm: VM, shared: Collection[str], *, unpooled: bool = True) -> list[Disk]:
    """The VM's disks (not CD-ROMs) outside the `shared` pools: only its own host reaches them.

    A network disk (rbd, iscsi, nbd…) is reached over the network from any host. A disk in no
    pool at all (a file libvirt has no pool for) counts unless `unpooled` is False.
    """
    return [disk for disk in vm.disks if disk.device in ("disk", "lun") and disk.kind != "network"
            and disk.pool not in shared and (unpooled or disk.pool)]


def only_here(vm: VM, host: str, shared: Collection[str], *, unpooled: bool = True) -> str:
    """Why the VM cannot run on another host (a disk only `host` reaches), or "" if it can."""
    local = local_disks(vm, shared, unpooled=unpooled)
    if not local:
        return ""
    disk = local[0]
    where = f"pool {disk.pool}" if disk.pool else "no storage pool"
    return (f"its disk {disk.target} ({disk.source}) is in {where}, which is not shared: "
            f"only {host} reaches it")


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
