"""The farm as granja sees it: plain dataclasses shared by every layer.

These types are the hypervisor layer's whole vocabulary towards the rest of
granja: drivers produce them, the inventory stores them, the bot and the site
render them. Nothing here imports libvirt. VMs are here, with what VMs and hosts share (states,
usage, the dict conversions); hosts, their pools and their OS's facts are in host_model.py.
"""

from __future__ import annotations

import enum
from dataclasses import MISSING, dataclass, field, fields, replace
from typing import Any


class VMState(enum.Enum):
    """What a VM is doing, in words an operator uses."""

    RUNNING = "running"
    PAUSED = "paused"
    SHUTOFF = "shut off"
    SAVED = "saved"  # shut off with a managed-save image: `start` restores it
    SHUTTING_DOWN = "shutting down"
    CRASHED = "crashed"
    PMSUSPENDED = "suspended by guest"
    UNKNOWN = "unknown"

    @property
    def active(self) -> bool:
        """Whether the VM holds memory on its host (running or paused)."""
        return self in ACTIVE_STATES


ACTIVE_STATES = frozenset(
    {VMState.RUNNING, VMState.PAUSED, VMState.SHUTTING_DOWN, VMState.PMSUSPENDED}
)


class Virt(enum.Enum):
    """How a guest is virtualized: Xen paravirtualized, PVH (PV in a hardware container) or HVM."""

    PV = "pv"
    PVH = "pvh"
    HVM = "hvm"


@dataclass(frozen=True)
class Disk:
    """One block device of a VM: where its data is, in which format, and how the guest sees it."""

    target: str  # guest device name: xvda, sda, vda
    source: str  # file path, block device, volume name or network image name ("" for an empty CD-ROM)
    bus: str = ""
    device: str = "disk"  # disk | cdrom | floppy | lun
    pool: str = ""
    size_bytes: int | None = None
    readonly: bool = False
    kind: str = ""  # libvirt's <disk type>: file | block | volume | network | dir; "" = from the source
    format: str = ""  # <driver type>: raw, qcow2, qed, aio…; "" = not given
    driver: str = ""  # <driver name>: qemu, phy, tap, tap2, file; "" = not given
    protocol: str = ""  # network disks: rbd, nbd, iscsi, gluster…
    hosts: tuple[str, ...] = ()  # network disks: "name:port" of each server, or a unix socket path

    @property
    def text(self) -> str:
        """Its data as a person reads it: `/a.qcow2 (qcow2)`, `rbd pool/img on mon1:6321`, `cdrom, empty`."""
        if self.kind == "network":
            servers = f" on {', '.join(self.hosts)}" if self.hosts else ""
            where = f"{self.protocol} {self.source}".rstrip() + servers
        else:
            where = self.source or "empty"
        device = f"{self.device}, " if self.device != "disk" else ""
        fmt = f" ({self.format})" if self.format and self.format != "raw" else ""
        return f"{device}{where}{fmt}"


@dataclass(frozen=True)
class NIC:
    """One network interface of a VM: its MAC, what it plugs into, and how its traffic is tagged."""

    mac: str
    bridge: str  # the host bridge of a bridge NIC; "" for every other type
    model: str = ""
    vlan: int | None = None  # the one access VLAN tagged in the domain XML itself (Open vSwitch)
    type: str = "bridge"  # libvirt's <interface type>: bridge, network, direct, ethernet, hostdev, user…
    source: str = ""  # what a NIC of another type plugs into: network name, host device, PCI address
    source_mode: str = ""  # direct (macvtap) NICs: vepa, bridge, private, passthrough
    vlans: tuple[int, ...] = ()  # a trunk's <vlan><tag> ids, in order (an access VLAN is `vlan`)
    trunk: bool = False  # <vlan trunk='yes'>: the guest sees tagged frames of every tag
    native_vlan: int | None = None  # the tag given nativeMode, if any
    native_mode: str = ""  # tagged | untagged
    script: str = ""  # the vif script Xen runs for it

    @property
    def kind_text(self) -> str:
        """What it plugs into, as a person reads it: `bridge br0`, `network default`, `direct eth0 (vepa)`."""
        where = self.source or self.bridge
        mode = f" ({self.source_mode})" if self.source_mode else ""
        return f"{self.type} {where}{mode}".rstrip()

    @property
    def connection(self) -> str:
        """What it plugs into, short: a bridge NIC's bridge, else its type and source (`network default`)."""
        return self.bridge if self.type == "bridge" else self.kind_text

    @property
    def vlan_text(self) -> str:
        """Its VLAN tagging as a person reads it: `VLAN 42`, `trunk 42,43 (native 42 untagged)`, or ""."""
        if self.vlan is not None:
            return f"VLAN {self.vlan}"
        if not self.vlans:
            return ""
        native = f" (native {self.native_vlan} {self.native_mode})" if self.native_vlan is not None else ""
        return "trunk " + ",".join(str(v) for v in self.vlans) + native


@dataclass(frozen=True)
class GranjaMeta:
    """granja's own facts about a VM, kept in the domain's <metadata> so they travel with it."""

    cluster: str = ""
    template: str = ""
    baseline_id: str = ""


@dataclass(frozen=True)
class Console:
    """A VM's graphical console (VNC, SPICE, RDP, SDL…): where it listens and whether it had a password.

    The password itself is never kept (hypervisor/domain_xml.py strips it); only that there was one.
    """

    type: str
    listen: str = ""  # its listen addresses ("0.0.0.0", "network default", "socket"); "" = the host's default
    password: bool = False

    @property
    def text(self) -> str:
        """As `diff` and the history show it: `vnc on 0.0.0.0 with a password`."""
        where = f" on {self.listen}" if self.listen else ""
        return f"{self.type}{where}" + (" with a password" if self.password else "")


@dataclass(frozen=True)
class VM:
    """A VM's configuration and state as read from its host."""

    name: str
    uuid: str
    host: str
    state: VMState
    vcpus: int
    memory_mib: int
    virt: Virt
    os_type: str = ""
    kernel: str = ""
    bootloader: str = ""
    max_memory_mib: int = 0
    initrd: str = ""
    cmdline: str = ""
    bootloader_args: str = ""
    max_vcpus: int = 0  # <vcpu> itself when `current` is lower (hot-plug room); 0 = no more than `vcpus`
    disks: tuple[Disk, ...] = ()
    nics: tuple[NIC, ...] = ()
    autostart: bool = False
    persistent: bool = True
    on_poweroff: str = "destroy"
    on_reboot: str = "restart"
    on_crash: str = "destroy"
    meta: GranjaMeta = field(default_factory=GranjaMeta)
    consoles: tuple[Console, ...] | None = None  # None: recorded by a granja that did not read them
    # The domain XML as the host reported it at the last sighting (graphics passwords stripped):
    # what `recover` defines elsewhere. Not configuration in itself: drift reads the fields above.
    definition: str = field(default="", repr=False, compare=False)
    usage: Usage | None = field(default=None, compare=False)  # what it uses now; not configuration

    def with_state(self, state: VMState) -> VM:
        """Return a copy of this VM in another state."""
        return replace(self, state=state)

    def config(self) -> dict[str, Any]:
        """The VM's configuration without placement or state: what drift is measured on."""
        data: dict[str, Any] = to_dict(self)
        for volatile in ("host", "state", "persistent", "definition", "usage"):
            data.pop(volatile)
        data["meta"].pop("baseline_id")
        if self.consoles is None:  # not read: no change against a baseline that has them
            data.pop("consoles")
        else:
            data["consoles"] = [console.text for console in self.consoles]
        # What libvirt treats as the same is written one way: `linux` (old xend) is `xen` for a PV
        # guest, a missing bus is the one the device name implies, a maximum of vCPUs no higher
        # than the count is none (0).
        if self.os_type == "linux":
            data["os_type"] = "xen"
        data["max_vcpus"] = self.max_vcpus if self.max_vcpus > self.vcpus else 0
        for disk, model in zip(data["disks"], self.disks, strict=True):
            # A disk's pool and size are what the host's storage says of the file, not the domain's own
            # configuration: an offline move to a host that names its storage differently is no drift.
            disk.pop("pool", None)
            disk.pop("size_bytes", None)
            disk["bus"] = model.bus or default_bus(model.target)
            disk["kind"] = model.kind or disk_kind(model)
        return data


# How `to_dict` treats each class it has met: "leaf", "enum", "seq" or the field names.
# Cached per class because a refresh converts every VM of the farm (20,000 at scale).
_SHAPES: dict[type, str | tuple[str, ...]] = {str: "leaf", int: "leaf", bool: "leaf", type(None): "leaf"}


def to_dict(obj: Any) -> Any:
    """Turn a model value into plain JSON-ready data (enums become their values)."""
    shape = _SHAPES.get(obj.__class__)
    if shape is None:
        shape = _SHAPES[obj.__class__] = _shape_of(obj)
    if shape == "leaf":
        return obj
    if shape == "enum":
        return obj.value
    if shape == "seq":
        return [to_dict(item) for item in obj]
    return {name: to_dict(getattr(obj, name)) for name in shape}


def to_doc(vm: VM) -> dict[str, Any]:
    """A VM as the inventory stores it: `to_dict`, less each disk's and NIC's fields at their defaults.

    At 20,000 VMs the stored inventory is rewritten at every refresh; `vm_from_dict` restores
    the defaults, so nothing is lost.
    """
    return compact_devices(to_dict(vm))


_DEVICE_LISTS = (("disks", Disk), ("nics", NIC))
# Fields `VM.config` leaves out of its disks: expanding a compact config must not add them back.
_NOT_IN_CONFIG = frozenset({"pool", "size_bytes"})


def compact_devices(data: dict[str, Any]) -> dict[str, Any]:
    """`data` (a VM's dict or config) with each disk's and NIC's fields at their defaults left out."""
    out = dict(data)
    for key, cls in _DEVICE_LISTS:
        defaults = _defaults(cls)
        out[key] = [{k: v for k, v in item.items() if defaults.get(k, _NONE) != v} for item in data[key]]
    return out


def expand_config(data: dict[str, Any]) -> dict[str, Any]:
    """A config stored by `compact_devices` with its disks' and NICs' default fields back."""
    out = dict(data)
    for key, cls in _DEVICE_LISTS:
        defaults = {k: v for k, v in _defaults(cls).items() if k not in _NOT_IN_CONFIG}
        out[key] = [{**defaults, **item} for item in data.get(key, ())]
    return out


_NONE = object()
_DEFAULTS: dict[type, dict[str, Any]] = {}


def _defaults(cls: type) -> dict[str, Any]:
    found = _DEFAULTS.get(cls)
    if found is None:
        found = _DEFAULTS[cls] = {f.name: to_dict(f.default) for f in fields(cls) if f.default is not MISSING}
    return found


def _shape_of(obj: Any) -> str | tuple[str, ...]:
    if isinstance(obj, enum.Enum):
        return "enum"
    if hasattr(obj, "__dataclass_fields__"):
        return tuple(f.name for f in fields(obj))
    if isinstance(obj, (tuple, list)):
        return "seq"
    return "leaf"


# The bus libvirt gives a disk whose <target> names none, by the device name's prefix.
_BUS_OF_PREFIX = (("xvd", "xen"), ("hd", "ide"), ("sd", "scsi"), ("vd", "virtio"), ("fd", "fdc"),
                  ("ubd", "uml"))


def default_bus(target: str) -> str:
    """The bus libvirt assumes for a disk target without one: xvd* xen, hd* ide, sd* scsi, vd* virtio."""
    return next((bus for prefix, bus in _BUS_OF_PREFIX if target.startswith(prefix)), "")


def disk_kind(disk: Disk) -> str:
    """A disk's libvirt type: the one it was read with, else what its source implies."""
    if disk.kind:
        return disk.kind
    if disk.source.startswith("/dev/"):
        return "block"
    if disk.pool and not disk.source.startswith("/"):
        return "volume"
    return "file"


def disk_from_dict(data: dict[str, Any]) -> Disk:
    """Rebuild a disk from `to_dict` output (a stored VM's `disks` entry)."""
    return Disk(**{**data, "hosts": tuple(data.get("hosts", ()))})


def _console(data: dict[str, Any]) -> Console:
    return Console(**data)


def vm_from_dict(data: dict[str, Any]) -> VM:
    """Rebuild a VM from `to_dict` output, as the inventory stores it."""
    return VM(
        **{
            **data,
            "state": VMState(data["state"]),
            "virt": Virt(data["virt"]),
            "disks": tuple(map(disk_from_dict, data.get("disks", ()))),
            "nics": tuple(NIC(**{**n, "vlans": tuple(n.get("vlans", ()))}) for n in data.get("nics", ())),
            "meta": GranjaMeta(**data.get("meta", {})),
            "consoles": None if data.get("consoles") is None else tuple(map(_console, data["consoles"])),
            "usage": usage_from_dict(data.get("usage")),
        }
    )


def gib(mib: float) -> str:
    """Memory as every message writes it: 4 GiB, 20.5 GiB, or 512 MiB below one GiB."""
    if mib < 1024:
        return f"{mib:.0f} MiB"
    return f"{mib / 1024:.1f}".removesuffix(".0") + " GiB"


def size_text(amount: float) -> str:
    """A size in bytes (a disk, a pool) written as gib() writes memory: 20 GiB, 1.5 GiB, 512 MiB."""
    if amount >= 2**20:
        return gib(amount / 2**20)
    return f"{amount / 1024:.0f} KiB" if amount >= 1024 else f"{amount:.0f} B"


@dataclass(frozen=True)
class Usage:
    """What a VM or host uses now, as its hypervisor reports it at a refresh (None: not reported).

    CPU use is a rate: `cpu_seconds` (CPU time spent so far) and `clock_seconds` (CPU time that was
    available so far: wall time × vCPUs for a VM, all CPUs' time for a host) are counters, and
    `cpu_percent` is their growth between two readings (see `with_cpu_percent`).
    """

    cpu_seconds: float | None = None
    clock_seconds: float | None = None
    cpu_percent: float | None = None
    memory_used_mib: int | None = None
    uptime_seconds: int | None = None
    addresses: tuple[str, ...] = ()

    def with_cpu_percent(self, before: Usage | None) -> Usage:
        """The reading with its CPU use since `before` (an earlier reading of the same VM or host)."""
        if (before is None or None in (self.cpu_seconds, self.clock_seconds, before.cpu_seconds,
                                       before.clock_seconds)):
            return self
        spent = self.cpu_seconds - before.cpu_seconds  # type: ignore[operator]
        available = self.clock_seconds - before.clock_seconds  # type: ignore[operator]
        if available <= 0 or spent < 0:
            return self  # the same reading, or a restarted guest: its counter began again
        return replace(self, cpu_percent=round(min(100.0, 100 * spent / available), 1))


def usage_from_dict(data: dict[str, Any] | None) -> Usage | None:
    """Rebuild a Usage from `to_dict` output (None stays None)."""
    return None if data is None else Usage(**{**data, "addresses": tuple(data.get("addresses", ()))})


def uptime_text(seconds: int) -> str:
    """An uptime as people say it: 12 days 3 h, 1 day 0 h, 5 h 12 min, 7 min, 40 s."""
    days, rest = divmod(seconds, 86400)
    hours, minutes = rest // 3600, rest % 3600 // 60
    if days:
        return f"{days} day{'s' if days != 1 else ''} {hours} h"
    return f"{hours} h {minutes} min" if hours else f"{minutes} min" if minutes else f"{seconds} s"
