"""How the farm is wired and placed, worked out from the inventory alone for the site's pages.

A NIC's VLAN and bond come from its host's own network facts (bridge → VLAN sub-interface →
bond), not from the fleet config: the site shows what the host has, and a bridge the config
does not know still shows how it is wired. A VLAN tag in the domain XML (Open vSwitch) wins.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from hypervisor.host_model import Host
from hypervisor.model import NIC, gib
from hypervisor.placement import Limits
from inventory.natural import natural_key
from inventory.records import HostRecord, VMRecord

DEFAULT_LIMITS = Limits()  # the placement defaults, when the config hands in none


@dataclass(frozen=True)
class Wire:
    """What a host bridge rides on: its VLAN (None if untagged or unknown) and bond."""

    vlan: int | None
    bond: str


@dataclass(frozen=True)
class NicRow:
    """One NIC of a VM with the VLAN and bond its bridge rides on at the VM's host."""

    nic: NIC
    vlan: int | None
    bond: str


@dataclass(frozen=True)
class NetworkName:
    """What the fleet config calls a VLAN: its name and description (handed in by granja)."""

    vlan: int
    name: str
    description: str = ""


@dataclass(frozen=True)
class Bar:
    """One capacity bar: how much is committed of how much the configured ratio allows."""

    used: float
    limit: float

    @property
    def percent(self) -> int:
        """The bar's fill, 0-100 (a host committed past its limit shows full)."""
        return 100 if self.limit <= 0 else min(100, round(100 * self.used / self.limit))

    @property
    def level(self) -> str:
        """The bar's colour: "ok" below 75 % of the limit, "near" from 75 %, "full" from 90 %."""
        share = 1.0 if self.limit <= 0 else self.used / self.limit
        return "full" if share >= 0.9 else "near" if share >= 0.75 else "ok"


@dataclass(frozen=True)
class Capacity:
    """A host's allocation: vCPUs and memory of its active VMs beside its physical ones."""

    record: HostRecord
    vms: int
    active: int
    vcpus: int
    memory_mib: int
    limits: Limits = DEFAULT_LIMITS

    @property
    def cpu_bar(self) -> Bar:
        """The vCPUs of active VMs against cores × the configured vCPU ratio."""
        return Bar(self.vcpus, self.record.host.cpus * self.limits.cpu_ratio)

    @property
    def memory_bar(self) -> Bar:
        """Memory of active VMs against RAM × the configured memory ratio."""
        return Bar(self.memory_mib, self.record.host.memory_mib * self.limits.memory_ratio)


@dataclass(frozen=True)
class VlanPlace:
    """Where hosts carry a VLAN: its sub-interface, the bond (or NIC) under it and the bridge on it."""

    interface: str
    parent: str
    bridge: str  # "" when no bridge is on it (the host's own address on that VLAN, say)
    hosts: tuple[str, ...]


@dataclass(frozen=True)
class VlanUse:
    """One VLAN: the bridges it is carried on, the hosts that carry it and the VMs plugged in."""

    vlan: int
    bridges: tuple[str, ...]
    hosts: tuple[str, ...]
    vms: tuple[str, ...]
    bonds: tuple[str, ...] = ()
    places: tuple[VlanPlace, ...] = ()  # where each host carries it, hosts wired alike together


def wiring(host: Host | None) -> dict[str, Wire]:
    """Bridge name -> the VLAN and bond under it, from the host's network facts."""
    if host is None or host.facts is None:
        return {}
    vlans = {v.name: v for v in host.facts.vlans}
    bonds = {b.name for b in host.facts.bonds}
    out: dict[str, Wire] = {}
    for bridge in host.facts.bridges:
        for port in bridge.ports:
            if port in vlans:
                out[bridge.name] = Wire(vlans[port].vlan, vlans[port].parent)
                break
            if port in bonds:
                out[bridge.name] = Wire(None, port)
                break
    return out


def nic_rows(record: VMRecord, wires: dict[str, Wire]) -> list[NicRow]:
    """The VM's NICs with their VLAN and bond as wired on its host."""
    rows = []
    for nic in record.vm.nics:
        wire = wires.get(nic.bridge, Wire(None, ""))
        rows.append(NicRow(nic, nic.vlan if nic.vlan is not None else wire.vlan, wire.bond))
    return rows


def by_host(vms: Iterable[VMRecord]) -> dict[str, list[VMRecord]]:
    """Host name -> the VMs recorded on it, in the order given."""
    out: dict[str, list[VMRecord]] = defaultdict(list)
    for record in vms:
        out[record.vm.host].append(record)
    return dict(out)


def capacity(host: HostRecord, vms: Sequence[VMRecord], limits: Limits = DEFAULT_LIMITS) -> Capacity:
    """The host's VM count and the vCPUs and memory its active VMs hold, against `limits`."""
    active = [r.vm for r in vms if r.vm.state.active]
    return Capacity(host, len(vms), len(active), sum(vm.vcpus for vm in active),
                    sum(vm.memory_mib for vm in active), limits)


def clusters(vms: Iterable[VMRecord]) -> dict[str, list[VMRecord]]:
    """Cluster name -> its members, for VMs whose metadata names a cluster."""
    out: dict[str, list[VMRecord]] = {}
    for record in vms:
        if record.vm.meta.cluster:
            out.setdefault(record.vm.meta.cluster, []).append(record)
    return dict(sorted(out.items()))


def shared_hosts(members: Iterable[VMRecord]) -> dict[str, list[str]]:
    """Hosts running more than one member of a cluster -> those members."""
    on: dict[str, list[str]] = defaultdict(list)
    for record in members:
        on[record.vm.host].append(record.vm.name)
    return {host: names for host, names in sorted(on.items()) if len(names) > 1}


def vlan_uses(hosts: Iterable[HostRecord], vms: Iterable[VMRecord],
              configured: Iterable[int] = ()) -> list[VlanUse]:
    """Every VLAN a host carries, a NIC is tagged with or `configured` names: where, and who uses it.

    A host carries a VLAN on each VLAN sub-interface its network facts list, whether or not a
    bridge is on it; hosts wired alike (same interface, bond and bridge) share one place.
    """
    hosts = list(hosts)
    wires = {host.name: wiring(host.host) for host in hosts}
    seen: set[int] = set(configured)  # a configured VLAN no host carries is listed too
    bridges: dict[int, set[str]] = defaultdict(set)
    bonds: dict[int, set[str]] = defaultdict(set)
    carriers: dict[int, set[str]] = defaultdict(set)
    members: dict[int, set[str]] = defaultdict(set)
    places: dict[int, dict[tuple[str, str, str], set[str]]] = defaultdict(lambda: defaultdict(set))
    for host in hosts:
        facts = host.host.facts
        if facts is None:
            continue
        on_bridge = {port: bridge.name for bridge in facts.bridges for port in bridge.ports}
        for sub in facts.vlans:
            seen.add(sub.vlan)
            carriers[sub.vlan].add(host.name)
            bonds[sub.vlan].add(sub.parent)
            bridge = on_bridge.get(sub.name, "")
            if bridge:
                bridges[sub.vlan].add(bridge)
            places[sub.vlan][(sub.name, sub.parent, bridge)].add(host.name)
    for record in vms:
        for row in nic_rows(record, wires.get(record.vm.host, {})):
            if row.vlan is not None:
                seen.add(row.vlan)
                bridges[row.vlan].add(row.nic.bridge)
                members[row.vlan].add(record.vm.name)
    return [VlanUse(vlan, tuple(sorted(bridges[vlan])), _natural(carriers[vlan]), _natural(members[vlan]),
                    _natural(bonds[vlan]),
                    tuple(VlanPlace(*where, _natural(on)) for where, on in sorted(places[vlan].items())))
            for vlan in sorted(seen)]


def cluster_hosts(members: dict[str, list[VMRecord]]) -> dict[str, dict[str, int]]:
    """Cluster -> host -> how many of its members the host holds (the farm map's matrix)."""
    out: dict[str, dict[str, int]] = {}
    for name, records in members.items():
        counts: dict[str, int] = defaultdict(int)
        for record in records:
            counts[record.vm.host] += 1
        out[name] = dict(counts)
    return out


def _natural(names: set[str]) -> tuple[str, ...]:
    return tuple(sorted(names, key=natural_key))


def guest_addresses(record: VMRecord) -> tuple[str, ...]:
    """A running guest's IP addresses as its host told them at the last refresh that read it.

    None for a VM that is not running: the reading kept from when it ran is no longer its address.
    (The inventory keeps them per VM, not per NIC: libvirt's lease, agent and ARP sources differ
    in what they tie to a MAC.)
    """
    usage = record.vm.usage
    return usage.addresses if usage is not None and record.vm.state.active else ()


def use_words(record: VMRecord) -> str:
    """What a running VM used at the last refresh that read it, rounded so that jitter reads the same.

    "CPU about 40 %, memory about 1.5 GiB of 4 GiB": CPU to the nearest 10 % ("under 5 %" below),
    memory to two significant figures. "" when it is not running or its host reported nothing:
    a VM's page is rebuilt when these words change, not at every refresh's new figures.
    """
    usage = record.vm.usage
    if usage is None or not record.vm.state.active:
        return ""
    parts = []
    if usage.cpu_percent is not None:
        tens = round(usage.cpu_percent / 10) * 10
        parts.append("CPU under 5 %" if usage.cpu_percent < 5 else f"CPU about {tens} %")
    if usage.memory_used_mib is not None:
        used = float(f"{usage.memory_used_mib / 1024:.2g}") * 1024
        parts.append(f"memory about {gib(used)} of {gib(record.vm.memory_mib)}")
    return ", ".join(parts)
