"""One hypervisor host reached through libvirt-python: with `events`, the only code that calls libvirt.

(`events` owns libvirt's event loop and domain-event subscriptions; this module starts the loop
before it opens any connection.)

Works the same for `xen+ssh://` production hosts, real QEMU daemons in the
tests and the demo farm's test-driver nodes; the one test-driver specific
step (writing state back to the node file) is delegated to `testnode`.
"""

from __future__ import annotations

import contextlib
import logging
import posixpath
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import libvirt

from hypervisor import crashpoint, libvirt_devices, lifecycle, shared_storage, testnode
from hypervisor.domain_xml import parse_domain
from hypervisor.errors import (
    HostKeyMismatch,
    HostUnreachable,
    HypervisorError,
    NotRebooted,
    NotSupported,
    OperationFailed,
    VMNotFound,
)
from hypervisor.events import STOPPED, LifecycleWatch, ensure_event_loop
from hypervisor.interface import Applied, FactsSource, HostDriver, Progress
from hypervisor.job_progress import JobWatcher
from hypervisor.model import VM, Usage, VMState

if TYPE_CHECKING:
    from hypervisor.host_model import Host, Pool

# libvirt prints every error to stderr unless told otherwise; we convert them instead.
libvirt.registerErrorHandler(lambda _ctx, _err: None, None)

LIVE_MIGRATION_DRIVERS = frozenset({"QEMU", "Xen"})
PEER_TO_PEER_DRIVERS = frozenset({"Xen"})  # libxl migrates host to host itself
MIGRATE_FLAGS = (
    libvirt.VIR_MIGRATE_LIVE | libvirt.VIR_MIGRATE_PERSIST_DEST | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE
)
_STATES = {
    libvirt.VIR_DOMAIN_NOSTATE: VMState.UNKNOWN,
    libvirt.VIR_DOMAIN_RUNNING: VMState.RUNNING,
    libvirt.VIR_DOMAIN_BLOCKED: VMState.RUNNING,  # running, waiting on I/O
    libvirt.VIR_DOMAIN_PAUSED: VMState.PAUSED,
    libvirt.VIR_DOMAIN_SHUTDOWN: VMState.SHUTTING_DOWN,
    libvirt.VIR_DOMAIN_SHUTOFF: VMState.SHUTOFF,
    libvirt.VIR_DOMAIN_CRASHED: VMState.CRASHED,
    libvirt.VIR_DOMAIN_PMSUSPENDED: VMState.PMSUSPENDED,
}
_UNREACHABLE_CODES = frozenset({
    libvirt.VIR_ERR_NO_CONNECT, libvirt.VIR_ERR_SYSTEM_ERROR, libvirt.VIR_ERR_RPC,
    libvirt.VIR_ERR_AUTH_FAILED, libvirt.VIR_ERR_INTERNAL_ERROR,
})
_UNREACHABLE_DOMAINS = frozenset({libvirt.VIR_FROM_RPC, libvirt.VIR_FROM_REMOTE})
VolumeLookup = Callable[[str], "tuple[str, int | None] | None"]  # disk path -> (pool, capacity in bytes)


# Where libvirt learns a guest's addresses, most reliable first.
log = logging.getLogger("granja.libvirt")
_ADDRESS_SOURCES = (libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE,
                    libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT,
                    libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_ARP)


class LibvirtHost:
    """A hypervisor host behind one libvirt URI (see HostDriver)."""

    def __init__(self, name: str, uri: str, *, facts: FactsSource | None = None) -> None:
        self.name = name
        self.uri = uri
        self._facts = facts
        self._node = testnode.node_path(uri)
        self._conn: Any = None
        self._signature: tuple[int, int, int] | None = None
        self._lock = threading.RLock()

    # -- connection ------------------------------------------------------------

    def connection(self) -> Any:
        """The open libvirt connection, (re)opened if it is new, dead or out of date."""
        with self._lock:
            if self._conn is not None and self._still_good():
                return self._conn
            self.close()
            ensure_event_loop()  # before any open, or the connection never delivers events
            try:
                conn = libvirt.open(self.uri)
            except libvirt.libvirtError as exc:
                raise HostUnreachable(self.name, _message(exc)) from exc
            if self._node is not None:
                self._signature = testnode.signature(self._node)
                testnode.apply_autostart(conn, self._node)
            self._conn = conn
            return conn

    def close(self) -> None:
        """Close the connection; the next call opens a new one."""
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(libvirt.libvirtError):
                    self._conn.close()
            self._conn = None

    def _still_good(self) -> bool:
        if self._node is not None:
            try:
                return testnode.signature(self._node) == self._signature
            except OSError:
                return False
        try:
            return bool(self._conn.isAlive())
        except libvirt.libvirtError:
            return False

    @contextlib.contextmanager
    def _changing(self, action: str, vm: str = "") -> Iterator[Any]:
        """A connection for a change; a simulated host saves its state afterwards."""
        with self._edge(action, vm):
            if self._node is None:
                yield self.connection()
                return
            crashpoint.reached(f"{self.name}: before {action} {vm}".rstrip())
            with testnode.locked(self._node), self._lock:
                conn = self.connection()
                try:
                    yield conn
                finally:
                    testnode.save(conn, self._node)
                    self._signature = testnode.signature(self._node)
            crashpoint.reached(f"{self.name}: after {action} {vm}".rstrip())

    @contextlib.contextmanager
    def _edge(self, action: str, vm: str = "") -> Iterator[None]:
        """Convert libvirt's errors into ours, naming the host and the VM."""
        try:
            yield
        except libvirt.libvirtError as exc:
            raise self._convert(exc, action, vm) from exc

    def _convert(self, exc: libvirt.libvirtError, action: str, vm: str) -> HypervisorError:
        code, domain = exc.get_error_code(), exc.get_error_domain()
        if code == libvirt.VIR_ERR_NO_DOMAIN:
            return VMNotFound(vm, self.name)
        if code == libvirt.VIR_ERR_NO_SUPPORT:
            return NotSupported(f"{self.name}'s hypervisor driver cannot {action}: {_message(exc)}")
        if code in _UNREACHABLE_CODES and domain in _UNREACHABLE_DOMAINS:
            self.close()
            return HostUnreachable(self.name, _message(exc))
        return OperationFailed(self.name, action + (f" {vm}" if vm else ""), _message(exc))

    # -- reading ---------------------------------------------------------------

    def describe(self, *, facts: bool = True) -> Host:
        """The host's hardware, pools, driver abilities and network facts.

        `facts=False` leaves out the host's own facts (an SSH round trip): moving a VM needs
        only what the hypervisor says.
        """
        from hypervisor.host_model import Host  # a host's model: read at a refresh, not for a question

        with self._edge("describe"):
            conn = self.connection()
            model, memory_mib, cpus, mhz = conn.getInfo()[:4]
            driver = conn.getType()
            pools = tuple(_pool(p) for p in conn.listAllStoragePools())
            usage = _host_usage(conn, memory_mib)
        found = None
        if facts and self._facts is not None:
            try:
                found = self._facts.facts()
            except HostKeyMismatch:
                raise  # a changed host key must be seen, not papered over
            except (HypervisorError, OSError):
                found = None
        return Host(
            name=self.name, uri=self.uri, driver=driver, cpus=cpus, memory_mib=memory_mib,
            cpu_model=model, cpu_mhz=mhz, live_migration=driver in LIVE_MIGRATION_DRIVERS,
            pools=pools, facts=found, usage=usage,
        )

    def list_vms(self) -> list[VM]:
        """Every VM defined or running on the host."""
        with self._edge("list VMs"):
            conn = self.connection()
            volumes = _in_pool_folders(conn, _volume_map(conn).get)
            vms = [self._vm(dom, volumes) for dom in conn.listAllDomains()]
            return [replace(vm, usage=self._usage(dom, vm, stats)) for vm, (dom, stats) in
                    zip(vms, _bulk_stats(conn, [vm.name for vm in vms]), strict=True)]

    def find_vm(self, name: str) -> VM | None:
        """One VM on this host, or None if the host does not have it."""
        try:
            with self._edge("look up", name):
                conn = self.connection()
                return self._vm(conn.lookupByName(name), _volumes(conn))
        except VMNotFound:
            return None

    def domain_xml(self, name: str) -> str:
        """The VM's persistent definition, secrets included, for moving it elsewhere."""
        flags = libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE
        with self._edge("read definition of", name):
            return str(self.connection().lookupByName(name).XMLDesc(flags))

    def _vm(self, dom: Any, volume: VolumeLookup) -> VM:
        # The configuration is the definition the VM boots with: a change that could not be made
        # live ("at next boot") shows, and is compared with the baseline, as soon as it is made.
        # With its secrets, to know which consoles have a password: parse_domain strips them at once.
        persistent = bool(dom.isPersistent())
        secure = libvirt.VIR_DOMAIN_XML_SECURE
        xml = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE | secure if persistent else secure)
        vm = parse_domain(xml, host=self.name, state=_state(dom), autostart=bool(dom.autostart()),
                          persistent=persistent)
        luns = shared_storage.iscsi_volume_paths(xml) if "protocol='iscsi'" in xml else {}
        disks = []
        for disk in vm.disks:
            lun = luns.get(disk.target)  # a LUN used straight: found as the volume of its pool
            found = ((volume(lun) or volume(f"/dev/disk/by-path/{lun}")) if lun else
                     volume(disk.source) if disk.source else None)
            disks.append(replace(disk, pool=found[0], size_bytes=found[1]) if found else disk)
        return replace(vm, disks=tuple(disks))

    def _usage(self, dom: Any, vm: VM, stats: dict[str, Any]) -> Usage | None:
        """What a running VM uses now: from the bulk statistics, the per-domain calls where they lack it."""
        if not vm.state.active:
            return None
        try:
            cpu_ns = dom.info()[4]
            memory = _used_memory_kib(stats) or _used_memory_kib(
                {f"balloon.{k}": v for k, v in dom.memoryStats().items()})
            addresses = tuple(_addresses(dom)) if vm.nics else ()
        except libvirt.libvirtError:
            log.debug("no usage figures for %s on %s", vm.name, self.name, exc_info=True)
            return None
        return Usage(cpu_seconds=cpu_ns / 1e9, clock_seconds=time.time() * max(vm.vcpus, 1),
                     memory_used_mib=memory // 1024 if memory else None, addresses=addresses)

    def addresses(self, name: str) -> list[str]:
        """The guest's IP addresses as the host knows them: DHCP lease, else guest agent, else ARP."""
        with self._edge("read the addresses of", name):
            dom = self.connection().lookupByName(name)
        return _addresses(dom)


    # -- changing --------------------------------------------------------------

    def lifecycle(self, name: str, action: str) -> VM:
        """Ask the host to start, shutdown, destroy, reboot, suspend, resume or save a VM."""
        with self._changing(action, name) as conn:
            dom = conn.lookupByName(name)
            lifecycle.check(name, _state(dom), action)
            operations: dict[str, Callable[[], Any]] = {
                "start": dom.create, "shutdown": dom.shutdown, "destroy": dom.destroy,
                "reboot": lambda: dom.reboot(0), "suspend": dom.suspend,
                "resume": dom.resume, "save": dom.managedSave,
            }
            operations[action]()
            return self._vm(dom, _volumes(conn))

    def set_autostart(self, name: str, on: bool) -> VM:
        """Make the host start the VM when the host boots, or not."""
        with self._changing("set autostart of", name) as conn:
            dom = conn.lookupByName(name)
            dom.setAutostart(1 if on else 0)
            return self._vm(dom, _volumes(conn))

    def define(self, xml: str) -> VM:
        """Define (or redefine) a VM from its XML; does not start it."""
        with self._changing("define") as conn:
            return self._vm(conn.defineXML(xml), _volumes(conn))

    def undefine(self, name: str) -> None:
        """Remove a shut-off VM's definition (its disks stay)."""
        with self._changing("undefine", name) as conn:
            conn.lookupByName(name).undefine()

    def reboot(self, name: str, seconds: float) -> VM:
        """Ask the VM to reboot and wait, at most `seconds`, for evidence that it did; the VM then.

        libvirt's reboot only asks (QEMU presses the ACPI button, or asks the guest agent) and a
        rebooting guest stays "running", so the evidence is an event: REBOOT (QEMU's reset), a
        stop (libxl re-creates a rebooting Xen domain), or a new domain ID. NotRebooted without
        any. libvirt's test driver reboots within the call (no events): done when it returns.
        """
        with self._changing("reboot", name) as conn:
            dom = conn.lookupByName(name)
            lifecycle.check(name, _state(dom), "reboot")
            if conn.getType() == "TEST":
                dom.reboot(0)
                return self._vm(dom, _volume_by_path(conn))
            before = dom.ID()
            with LifecycleWatch(conn, dom) as watch:  # subscribed first: a quick reboot is not missed
                dom.reboot(0)
                if not watch.wait_for_reboot(seconds, lambda: _domain_id(dom) not in (before, -1)):
                    raise NotRebooted(name, self.name, seconds)
            return self._vm(dom, _volume_by_path(conn))

    def wait_for_off(self, name: str, seconds: float) -> VM:
        """Wait for the VM's "stopped" lifecycle event (no polling), at most `seconds`; the VM then."""
        with self._edge("wait for", name):
            conn = self.connection()
            dom = conn.lookupByName(name)
            with LifecycleWatch(conn, dom) as watch:
                if _state(dom).active:  # asked after subscribing, so a stop in between is not missed
                    watch.wait_for(STOPPED, seconds)
            return self._vm(dom, _volumes(conn))

    def migrate_live(self, name: str, target: HostDriver, progress: Progress) -> VM:
        """Move a running VM to `target` without stopping it; returns it as seen there."""
        if not isinstance(target, LibvirtHost):
            raise NotSupported(f"cannot live-migrate from libvirt to {type(target).__name__}")
        with self._edge("migrate", name):
            dom = self.connection().lookupByName(name)
            peer_to_peer = self.connection().getType() in PEER_TO_PEER_DRIVERS
        watcher = JobWatcher(lambda: _job_stats(dom), progress)
        watcher.start()
        try:
            if peer_to_peer:
                dom.migrateToURI3(target.uri, {}, MIGRATE_FLAGS | libvirt.VIR_MIGRATE_PEER2PEER)
            else:
                dom.migrate3(target.connection(), {}, MIGRATE_FLAGS)
        except libvirt.libvirtError as exc:
            # Either end may have failed: name both, and blame neither connection for it.
            raise OperationFailed(self.name, f"migrate {name} to {target.name}", _message(exc)) from exc
        finally:
            watcher.stop()
        moved = target.find_vm(name)
        if moved is None:
            raise OperationFailed(target.name, f"migrate {name}", "the VM did not arrive")
        return moved

    # -- provisioning and resources: volumes, vCPUs, memory, devices ------------

    def create_volume(self, pool: str, name: str, size_bytes: int, *, clone_of: str = "") -> str:
        """Create a volume in `pool`, empty or cloned from the pool's volume `clone_of`; its path."""
        action = f"create volume {name} in pool {pool}" + (f" from {clone_of}" if clone_of else "")
        with self._changing(action) as conn:
            return libvirt_devices.create_volume(conn, pool, name, size_bytes, clone_of=clone_of)

    def delete_volume(self, path: str) -> None:
        """Delete the storage volume at `path`."""
        with self._changing(f"delete volume {path}") as conn:
            libvirt_devices.delete_volume(conn, path)

    def set_vcpus(self, name: str, count: int) -> Applied:
        """Give a VM `count` vCPUs: live and in its definition where possible, else from next boot."""
        return self._apply("set vCPUs of", name, lambda _conn, dom: libvirt_devices.set_vcpus(dom, count))

    def set_memory(self, name: str, mib: int) -> Applied:
        """Give a VM `mib` MiB of memory: live where possible, else from next boot."""
        return self._apply("set memory of", name, lambda _conn, dom: libvirt_devices.set_memory(dom, mib))

    def attach_device(self, name: str, xml: str) -> Applied:
        """Add a device (disk or NIC XML) to a VM: hot-plugged where possible, else at next boot."""
        return self._apply("attach a device to", name,
                           lambda conn, dom: libvirt_devices.attach(conn, dom, xml))

    def detach_device(self, name: str, xml: str) -> Applied:
        """Remove a device (matched by MAC or target) from a VM: live where possible, else at next boot."""
        return self._apply("detach a device from", name,
                           lambda conn, dom: libvirt_devices.detach(conn, dom, xml))

    def _apply(self, action: str, name: str, change: Callable[[Any, Any], bool]) -> Applied:
        with self._changing(action, name) as conn:
            live = change(conn, conn.lookupByName(name))
            return Applied(self._vm(conn.lookupByName(name), _volumes(conn)), live)


def _job_stats(dom: Any) -> dict[str, Any] | None:
    """The statistics libvirt keeps of the domain's current job, or None if they cannot be read now."""
    try:
        return dict(dom.jobStats())
    except libvirt.libvirtError:
        return None


def _state(dom: Any) -> VMState:
    state = _STATES.get(dom.state()[0], VMState.UNKNOWN)
    if state is VMState.SHUTOFF and dom.hasManagedSaveImage():
        return VMState.SAVED
    return state


def _pool(pool: Any) -> Pool:
    from hypervisor.host_model import Pool  # as in describe()

    _state, capacity, allocation, available = pool.info()
    definition = ET.fromstring(pool.XMLDesc(0))
    path = definition.findtext("target/path", "").strip()
    return Pool(name=pool.name(), capacity_bytes=capacity, allocation_bytes=allocation,
                available_bytes=available, active=bool(pool.isActive()), path=path,
                kind=definition.get("type", ""))


def _volume_map(conn: Any) -> dict[str, tuple[str, int]]:
    """Every volume's path mapped to its pool and capacity, to give disks a size."""
    volumes: dict[str, tuple[str, int]] = {}
    with contextlib.suppress(libvirt.libvirtError):
        for pool in conn.listAllStoragePools(libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE):
            for volume in pool.listAllVolumes():
                volumes[volume.path()] = (pool.name(), volume.info()[1])
    return volumes


def _volumes(conn: Any) -> VolumeLookup:
    """The pool and size of a disk path on this host, looked up one path at a time (see _in_pool_folders)."""
    return _in_pool_folders(conn, _volume_by_path(conn))


def _in_pool_folders(conn: Any, volume: VolumeLookup) -> VolumeLookup:
    """`volume`, and for a file it does not know, the file-based pool whose folder holds it (size unknown).

    libvirt lists a `dir` pool's volumes as of its last refresh: a disk that just came with a
    migration is in the pool's folder but not yet one of its volumes. A file anywhere else is
    in no pool at all (see `shared_storage.is_local`).
    """
    folders: dict[str, str] | None = None

    def lookup(path: str) -> tuple[str, int | None] | None:
        nonlocal folders
        found = volume(path)
        if found is not None or not path.startswith("/"):
            return found
        if folders is None:  # read once, and only when a disk needs it
            folders = _pool_folders(conn)
        pool = folders.get(posixpath.dirname(posixpath.normpath(path)))
        return (pool, None) if pool else None

    return lookup


# Pool types whose volumes are the files in the pool's target folder (not its subfolders).
FILE_POOL_TYPES = frozenset({"dir", "fs", "netfs"})


def _pool_folders(conn: Any) -> dict[str, str]:
    """Each active file-based pool's folder, mapped to the pool's name."""
    folders: dict[str, str] = {}
    with contextlib.suppress(libvirt.libvirtError):
        for pool in conn.listAllStoragePools(libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE):
            definition = ET.fromstring(pool.XMLDesc(0))
            folder = posixpath.normpath(definition.findtext("target/path", "").strip() or ".")
            if definition.get("type") in FILE_POOL_TYPES and folder.startswith("/"):
                folders[folder] = pool.name()
    return folders


def _volume_by_path(conn: Any) -> VolumeLookup:
    """A lookup of one volume at a time: cheaper than listing every pool for a single VM."""

    def lookup(path: str) -> tuple[str, int] | None:
        try:
            volume = conn.storageVolLookupByPath(path)
            return volume.storagePoolLookupByVolume().name(), volume.info()[1]
        except libvirt.libvirtError:
            return None

    return lookup


def _message(exc: libvirt.libvirtError) -> str:
    text = (exc.get_error_message() or str(exc)).strip()
    return text.splitlines()[0] if text else "unknown libvirt error"


def _bulk_stats(conn: Any, names: list[str]) -> list[tuple[Any, dict[str, Any]]]:
    """Every domain's memory statistics in one call, in the order of `names`.

    CPU time is not asked for here: libvirtd's first CPU_TOTAL reading probes the cache monitors
    and took 4 s on a fresh QEMU daemon, longer than a host may take to answer a refresh; each
    domain's info() gives the same counter at once. NOWAIT: a domain busy with a job (a migration)
    is reported without its figures rather than holding up the refresh.
    """
    wanted = libvirt.VIR_DOMAIN_STATS_STATE | libvirt.VIR_DOMAIN_STATS_BALLOON
    try:
        by_name = {dom.name(): (dom, stats) for dom, stats in
                   conn.getAllDomainStats(wanted, libvirt.VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT)}
    except libvirt.libvirtError:  # too old a libvirt, or a driver without it: per-domain calls instead
        by_name = {}
    return [by_name.get(name) or (conn.lookupByName(name), {}) for name in names]


def _used_memory_kib(stats: dict[str, Any]) -> int | None:
    """Memory a guest uses, in KiB: what its balloon driver says is in use, else what the host gave it."""
    available, unused = stats.get("balloon.available"), stats.get("balloon.unused")
    if available and unused is not None:
        return int(available - unused)
    rss = stats.get("balloon.rss")
    return int(rss) if rss else None


def _host_usage(conn: Any, memory_mib: int) -> Usage | None:
    """The host's CPU counters and used memory, where its driver reports them."""
    try:
        cpu = conn.getCPUStats(libvirt.VIR_NODE_CPU_STATS_ALL_CPUS)
    except libvirt.libvirtError:
        cpu = {}
    try:
        free_mib = int(conn.getFreeMemory()) // 2**20 or None  # no real host has nothing free: not told
    except libvirt.libvirtError:
        free_mib = None
    busy = sum(cpu.get(k, 0) for k in ("user", "kernel")) / 1e9 if cpu else None
    total = busy + (cpu.get("idle", 0) + cpu.get("iowait", 0)) / 1e9 if busy is not None else None
    if busy is None and free_mib is None:
        return None
    return Usage(cpu_seconds=busy, clock_seconds=total,
                 memory_used_mib=memory_mib - free_mib if free_mib is not None else None)


def _addresses(dom: Any) -> list[str]:
    """A domain's IP addresses from the first source that has any: DHCP lease, guest agent, ARP."""
    for source in _ADDRESS_SOURCES:
        try:
            interfaces = dom.interfaceAddresses(source)
        except libvirt.libvirtError:  # no agent, no lease file, not supported: try the next source
            continue
        found = [a["addr"] for nic in (interfaces or {}).values() for a in nic.get("addrs") or ()
                 if a.get("addr")]
        if found:
            return found
    return []


def _domain_id(dom: Any) -> int:
    """The running instance's ID (-1 while it is not running or when the host does not say)."""
    try:
        return int(dom.ID())
    except libvirt.libvirtError:
        return -1
