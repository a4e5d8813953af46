"""Which storage every host reaches: shared pools, and the disks a VM could not take to another host.

A pool is shared when libvirt's pool type says the storage lives on the network (iSCSI, NFS,
Ceph RBD, Gluster), or when the fleet config names it in `farm.shared_pools` (a pool of that
name is the same storage on every host, e.g. a cluster file system in a `dir` pool). A VM whose
disks are all on shared pools (or network disks) can move, and be started on another host when
its own host dies; a disk in no pool is not known to be shared, so its VM stays.
"""

from __future__ import annotations

import posixpath
import xml.etree.ElementTree as ET
from collections.abc import Collection, Iterable, Sequence
from typing import TYPE_CHECKING

from hypervisor.model import VM, Disk, disk_kind

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


def is_local(device: str, kind: str, pool: str, shared: Collection[str], *,
             hosts: Sequence[str] = ()) -> bool:
    """Whether a disk (its device, libvirt disk type, pool and servers) is not known to reach other hosts.

    CD-ROMs and floppies do not count; a network disk (rbd, iscsi, nbd…) is reached over the
    network from any host, unless its only servers are unix sockets (on its own host); a disk
    in no pool at all (a file or device libvirt has no pool for) counts: nothing says another
    host reaches it, and a move copies no disks. The one rule for `migrate`, `evacuate`,
    `rolling migrate`, `recover`, placement and the host failure simulation (which reads stored
    records without decoding them).
    """
    if device not in ("disk", "lun"):
        return False
    if kind == "network":
        return bool(hosts) and all(server.startswith("/") for server in hosts)
    return pool not in shared


def local_disks(vm: VM, shared: Collection[str]) -> list[Disk]:
    """The VM's disks that only its own host is known to reach (see `is_local`)."""
    return [disk for disk in vm.disks
            if is_local(disk.device, disk.kind, disk.pool, shared, hosts=disk.hosts)]


def why_local(disk: Disk, host: str) -> str:
    """Why a VM with this disk cannot run on another host, in the words every move and `recover` use."""
    if disk.kind == "network":
        return (f"its disk {disk.target} ({disk.text}) is reached through a unix socket: "
                f"only {host} reaches it")
    if not disk.pool:
        return (f"its disk {disk.target} ({disk.source}) is in no storage pool, so no other host is known "
                "to reach it")
    return (f"its disk {disk.target} ({disk.source}) is in pool {disk.pool}, which is not shared: "
            f"only {host} reaches it")


def reach_text(disk: Disk, host: str, shared: Collection[str]) -> str:
    """Whether other hosts reach a disk, in a table's words: yes, no (only `host`), or not known."""
    if disk.device not in ("disk", "lun"):
        return ""  # a CD-ROM or floppy stays behind on a move, and the guest does without it
    if not is_local(disk.device, disk.kind, disk.pool, shared, hosts=disk.hosts):
        return "yes"
    if disk.kind != "network" and not disk.pool:
        return "not known: in no storage pool"
    return f"no: only {host} reaches it"


def how_to_share(disk: Disk) -> str:
    """What makes a disk `why_local` names movable, as a sentence; "" where granja knows no way."""
    if disk.kind == "network":
        return ""
    if disk.pool:
        return f"If pool {disk.pool} is the same storage on every host, name it in farm.shared_pools."
    if disk_kind(disk) == "file" and disk.source.startswith("/"):
        folder = posixpath.dirname(disk.source) or "/"
        return (f"If {folder} is the same storage on every host, define it as a storage pool on each "
                f"(virsh pool-define-as NAME dir --target {folder}) and name that pool in farm.shared_pools.")
    return (f"If {disk.source} is the same storage on every host, put it in a storage pool on each "
            "and name that pool in farm.shared_pools.")


def first_local(vm: VM, shared: Collection[str]) -> Disk | None:
    """The first of the VM's disks that only its own host is known to reach, or None."""
    local = local_disks(vm, shared)
    return local[0] if local else None


def only_here(vm: VM, host: str, shared: Collection[str]) -> str:
    """Why the VM cannot run on another host (a disk only `host` is known to reach), or "" if it can."""
    disk = first_local(vm, shared)
    return why_local(disk, host) if disk else ""


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
