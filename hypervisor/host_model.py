"""A host as granja sees it: hardware, storage pools, and the network and storage facts of its OS.

Plain dataclasses, like hypervisor/model.py (VMs and what both share), in a module of their own:
a question about a VM does not create them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypervisor.model import Usage, usage_from_dict


@dataclass(frozen=True)
class Pool:
    """A storage pool on a host."""

    name: str
    capacity_bytes: int
    allocation_bytes: int
    available_bytes: int
    active: bool = True
    path: str = ""  # where the host mounts it (<target><path>); shared storage may differ per host
    kind: str = ""  # libvirt's pool type: dir, logical, iscsi-direct, netfs, rbd… ("" if not known)


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
class DomainStart:
    """When a running Xen domain started: its line of `xl uptime`, set against the host's clock."""

    name: str
    domain_id: int
    started_at: int  # seconds since the epoch, by the host's clock


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
    # When the host booted (/proc/uptime against its clock), seconds since the epoch; None: unknown.
    booted_at: int | None = None
    # Xen only: each domain's start (`xl uptime`, Domain-0 included); empty where not Xen or unread.
    domains: tuple[DomainStart, ...] = ()


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
                booted_at=facts.get("booted_at"),
                domains=starts_from_dict(facts).domains,
            ),
        }
    )


def starts_from_dict(facts: dict[str, Any]) -> HostFacts:
    """Only the start times of stored facts (`to_dict` output): when the host booted, each domain started."""
    return HostFacts(booted_at=facts.get("booted_at"),
                     domains=tuple(DomainStart(**d) for d in facts.get("domains", ())))
