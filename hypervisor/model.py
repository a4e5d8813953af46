"""The farm as granja sees it: plain dataclasses shared by every layer.

These types are the hypervisor layer's whole vocabulary towards the rest of
granja: drivers produce them, the inventory stores them, the bot and the site
render them. Nothing here imports libvirt.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields, replace
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
    """How a guest is virtualized: Xen paravirtualized or hardware-assisted."""

    PV = "pv"
    HVM = "hvm"


@dataclass(frozen=True)
class Disk:
    """One block device of a VM."""

    target: str  # guest device name: xvda, sda, vda
    source: str  # file path, block device or pool/volume
    bus: str = ""
    device: str = "disk"  # disk | cdrom
    pool: str = ""
    size_bytes: int | None = None
    readonly: bool = False


@dataclass(frozen=True)
class NIC:
    """One network interface of a VM: its MAC and the bridge it plugs into."""

    mac: str
    bridge: str
    model: str = ""
    vlan: int | None = None  # tagged in the domain XML itself (Open vSwitch)


@dataclass(frozen=True)
class GranjaMeta:
    """granja's own facts about a VM, kept in the domain's <metadata> so they travel with it."""

    cluster: str = ""
    template: str = ""
    baseline_id: str = ""


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
    disks: tuple[Disk, ...] = ()
    nics: tuple[NIC, ...] = ()
    autostart: bool = False
    persistent: bool = True
    on_poweroff: str = "destroy"
    on_reboot: str = "restart"
    on_crash: str = "destroy"
    meta: GranjaMeta = field(default_factory=GranjaMeta)
    usage: Usage | None = field(default=None, compare=False)  # what it uses now; not configuration

    def with_state(self, state: VMState) -> VM:
        """Return a copy of this VM in another state."""
        return replace(self, state=state)

    def config(self) -> dict[str, Any]:
        """The VM's configuration without placement or state: what drift is measured on."""
        data: dict[str, Any] = to_dict(self)
        for volatile in ("host", "state", "persistent", "usage"):
            data.pop(volatile)
        data["meta"].pop("baseline_id")
        # A disk's pool and size are what the host's storage says of the file, not the domain's own
        # configuration: an offline move to a host that names its storage differently is no drift.
        for disk in data["disks"]:
            disk.pop("pool", None)
            disk.pop("size_bytes", None)
        return data


@dataclass(frozen=True)
class Pool:
    """A storage pool on a host."""

    name: str
    capacity_bytes: int
    allocation_bytes: int
    available_bytes: int
    active: bool = True


@dataclass(frozen=True)
class Bond:
    """A bonded host interface: mode, slaves and which of them carry traffic."""

    name: str
    mode: str
    slaves: tuple[str, ...]
    slaves_up: tuple[str, ...] = ()  # with link and, in 802.3ad, in the active aggregator
    outside_aggregator: tuple[str, ...] = ()  # 802.3ad: with link but outside the active aggregator

    @property
    def degraded_slaves(self) -> tuple[str, ...]:
        """The slaves carrying no traffic (link down, or outside the active aggregator), in slave order."""
        return tuple(s for s in self.slaves if s not in self.slaves_up)

    def slave_problem(self, slave: str) -> str:
        """Why a slave carries no traffic ("down", "not in active aggregator"), or "" if it does."""
        if slave in self.slaves_up:
            return ""
        return "not in active aggregator" if slave in self.outside_aggregator else "down"


@dataclass(frozen=True)
class VlanIf:
    """A VLAN sub-interface of a host, such as bond0.120."""

    name: str
    vlan: int
    parent: str


@dataclass(frozen=True)
class Bridge:
    """A host bridge and the interfaces enslaved to it."""

    name: str
    ports: tuple[str, ...]


@dataclass(frozen=True)
class Storage:
    """A file system on a host (where VM images live) and its free space."""

    path: str
    size_bytes: int
    free_bytes: int


@dataclass(frozen=True)
class NodeView:
    """The hypervisor's own view of the host (`xl info` or `virsh nodeinfo`)."""

    source: str
    cpus: int
    memory_mib: int
    free_memory_mib: int | None = None
    version: str = ""


@dataclass(frozen=True)
class FactsNote:
    """Why a section of a host's facts is unknown or was read another way.

    Sections: bonds, links, bridges, storage, hypervisor. E.g. ("bridges", "`bridge -j link` gave
    text; iproute2 older than 4.17?").
    """

    section: str
    text: str


@dataclass(frozen=True)
class HostFacts:
    """What a host's own OS says: bonds, VLANs, bridges, storage space, the hypervisor's view.

    A section that could not be read is empty and listed in `unknown`; one read from a fallback
    (sysfs, procfs) instead of its usual command is listed in `fallback`.
    """

    bonds: tuple[Bond, ...] = ()
    vlans: tuple[VlanIf, ...] = ()
    bridges: tuple[Bridge, ...] = ()
    storage: tuple[Storage, ...] = ()
    node: NodeView | None = None
    unknown: tuple[FactsNote, ...] = ()
    fallback: tuple[FactsNote, ...] = ()


@dataclass(frozen=True)
class Host:
    """A hypervisor host: its hardware and what its driver can do."""

    name: str
    uri: str
    driver: str  # libvirt's name for the hypervisor: Xen, QEMU, TEST
    cpus: int
    memory_mib: int
    cpu_model: str = ""
    cpu_mhz: int = 0
    live_migration: bool = False
    pools: tuple[Pool, ...] = ()
    facts: HostFacts | None = None
    usage: Usage | None = field(default=None, compare=False)  # what its VMs use now


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


def _shape_of(obj: Any) -> str | tuple[str, ...]:
    if isinstance(obj, enum.Enum):
        return "enum"
    if hasattr(obj, "__dataclass_fields__"):
        return tuple(f.name for f in fields(obj))
    if isinstance(obj, (tuple, list)):
        return "seq"
    return "leaf"


def vm_from_dict(data: dict[str, Any]) -> VM:
    """Rebuild a VM from `to_dict` output, as the inventory stores it."""
    return VM(
        **{
            **data,
            "state": VMState(data["state"]),
            "virt": Virt(data["virt"]),
            "disks": tuple(Disk(**d) for d in data.get("disks", ())),
            "nics": tuple(NIC(**n) for n in data.get("nics", ())),
            "meta": GranjaMeta(**data.get("meta", {})),
            "usage": usage_from_dict(data.get("usage")),
        }
    )


def host_from_dict(data: dict[str, Any]) -> Host:
    """Rebuild a Host from `to_dict` output, as the inventory stores it."""
    facts = data.get("facts")
    return Host(
        **{
            **data,
            "pools": tuple(Pool(**p) for p in data.get("pools", ())),
            "usage": usage_from_dict(data.get("usage")),
            "facts": None
            if facts is None
            else HostFacts(
                bonds=tuple(
                    Bond(**{**b, "slaves": tuple(b["slaves"]), "slaves_up": tuple(b["slaves_up"]),
                            "outside_aggregator": tuple(b.get("outside_aggregator", ()))})
                    for b in facts.get("bonds", ())
                ),
                vlans=tuple(VlanIf(**v) for v in facts.get("vlans", ())),
                bridges=tuple(
                    Bridge(name=b["name"], ports=tuple(b["ports"])) for b in facts.get("bridges", ())
                ),
                storage=tuple(Storage(**s) for s in facts.get("storage", ())),
                node=NodeView(**facts["node"]) if facts.get("node") else None,
                unknown=tuple(FactsNote(**n) for n in facts.get("unknown", ())),
                fallback=tuple(FactsNote(**n) for n in facts.get("fallback", ())),
            ),
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
    """An uptime as people say it: 3 d 4 h, 5 h 12 min, 7 min."""
    days, rest = divmod(seconds, 86400)
    hours, minutes = rest // 3600, rest % 3600 // 60
    return f"{days} d {hours} h" if days else f"{hours} h {minutes} min" if hours else f"{minutes} min"
