"""Planning a generated farm: its hosts, its VMs and which host runs each, before anything is written.

Deterministic for a seed. A farm larger than the catalogue repeats it, each
further copy's names prefixed (`t001-ldap1`, cluster `t001-ldap`), so every
name stays unique and every cluster keeps its own size.
"""

from __future__ import annotations

import heapq
import math
import random
import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from granja.demo_catalogue import CLUSTERS, NETWORKS, ServerSpec, catalogue
from hypervisor.domain_build import DEFAULT_CMDLINE, PYGRUB
from hypervisor.model import NIC, VM, Disk, GranjaMeta, Virt

IMAGE_DIR = "/var/lib/xen/images"
POOL = "local"
GIB = 1024**3
_BRIDGES = {net.name: net.bridge for net in NETWORKS}
# (cores, memory GiB, CPU model, MHz): the hardware generations a university farm accumulates.
HOST_MODELS = (
    (16, 64, "Intel(R) Xeon(R) Silver 4208", 2100),
    (24, 96, "Intel(R) Xeon(R) Silver 4214", 2200),
    (32, 128, "Intel(R) Xeon(R) Gold 6226R", 2900),
    (24, 128, "Intel(R) Xeon(R) Gold 5317", 3000),
    (32, 96, "AMD EPYC 7302", 3000),
    (16, 96, "Intel(R) Xeon(R) Silver 4309Y", 2800),
)


@dataclass(frozen=True)
class Member:
    """One VM to create: its catalogue entry under its final name and cluster."""

    name: str
    cluster: str
    spec: ServerSpec


@dataclass
class HostPlan:
    """One simulated host: its hardware and the VMs placed on it."""

    name: str
    index: int
    cores: int
    memory_mib: int
    cpu_model: str
    mhz: int
    vms: list[VM] = field(default_factory=list)


@dataclass(frozen=True)
class FarmPlan:
    """A whole farm: hosts with their VMs, and the clusters (name, template, description) in use."""

    hosts: list[HostPlan]
    clusters: list[tuple[str, str, str]]


def plan_farm(*, hosts: int, vms: int, seed: int = 0) -> FarmPlan:
    """Decide every host and VM of a farm of `hosts` hosts running `vms` VMs."""
    if hosts < 1 or vms < 0:
        raise ValueError(f"a farm needs at least one host and no negative VM count ({hosts}, {vms})")
    rng = random.Random(seed)
    members = expand(vms)
    demand = sum(m.spec.shape.memory_mib for m in members)
    host_plans = _hosts(hosts, demand, rng)
    placement = _place(members, host_plans, rng)
    macs = iter(range(1, 2**24))
    for member, index in zip(members, placement, strict=True):
        host_plans[index].vms.append(_vm(member, host_plans[index].name, rng, macs))
    for host in host_plans:
        host.vms.sort(key=lambda vm: vm.name)
    return FarmPlan(hosts=host_plans, clusters=_clusters(members))


def expand(vms: int) -> list[Member]:
    """The first `vms` VMs of the catalogue repeated as often as needed, later copies prefixed."""
    servers = catalogue()
    copies = math.ceil(vms / len(servers)) if vms else 0
    width = max(3, len(str(copies - 1)))
    members = []
    for i in range(vms):
        copy, position = divmod(i, len(servers))
        spec = servers[position]
        prefix = f"t{copy:0{width}d}-" if copy else ""
        cluster = prefix + spec.cluster if spec.cluster else ""
        members.append(Member(prefix + spec.name, cluster, spec))
    return members


def _hosts(count: int, demand_mib: int, rng: random.Random) -> list[HostPlan]:
    """Hosts of mixed models, scaled up (at most 4x) until VMs take under half their memory."""
    average_mib = sum(m[1] for m in HOST_MODELS) * 1024 / len(HOST_MODELS)
    scale = min(4, max(1, math.ceil(demand_mib / count / (0.5 * average_mib))))
    width = max(2, len(str(count)))
    plans = []
    for i in range(count):
        cores, memory_gib, model, mhz = rng.choice(HOST_MODELS)
        plans.append(HostPlan(f"host{i + 1:0{width}d}", i, cores * scale,
                              memory_gib * scale * 1024, model, mhz))
    return plans


def _place(members: Sequence[Member], hosts: Sequence[HostPlan], rng: random.Random) -> list[int]:
    """Least-loaded (by memory share) placement keeping a cluster's members on distinct hosts."""
    heap = [(0.0, rng.random(), host.index) for host in hosts]
    heapq.heapify(heap)
    used: dict[str, set[int]] = defaultdict(set)
    placement = []
    for member in members:
        taken = used[member.cluster] if member.cluster else set()
        skipped = []
        while heap and heap[0][2] in taken:
            skipped.append(heapq.heappop(heap))
        # A cluster larger than the farm has to double up: take the least loaded host then.
        load, _, index = heapq.heappop(heap) if heap else skipped.pop(0)
        for entry in skipped:
            heapq.heappush(heap, entry)
        taken.add(index)
        placement.append(index)
        share = member.spec.shape.memory_mib / hosts[index].memory_mib
        heapq.heappush(heap, (load + share, rng.random(), index))
    return placement


def _vm(member: Member, host: str, rng: random.Random, macs: Iterator[int]) -> VM:
    """The VM dataclass of one member, with its own UUID, MACs and disk images."""
    shape = member.spec.shape
    disks = [Disk(target="xvda", source=f"{IMAGE_DIR}/{member.name}.img", bus="xen",
                  size_bytes=shape.disk_gib * GIB, kind="file", driver="qemu", format="raw")]
    if shape.data_disk_gib:
        disks.append(Disk(target="xvdb", source=f"{IMAGE_DIR}/{member.name}-data.img", bus="xen",
                          size_bytes=shape.data_disk_gib * GIB, kind="file", driver="qemu", format="raw"))
    nics = tuple(NIC(mac=_mac(next(macs)), bridge=_BRIDGES[net]) for net in shape.networks)
    template = shape.name if member.cluster else ""
    return VM(
        name=member.name, uuid=str(uuid.UUID(int=rng.getrandbits(128), version=4)), host=host,
        state=member.spec.state, vcpus=shape.vcpus, memory_mib=shape.memory_mib,
        max_memory_mib=shape.memory_mib, virt=Virt.PV, os_type="xen", kernel=shape.kernel,
        cmdline=DEFAULT_CMDLINE if shape.kernel else "",
        bootloader="" if shape.kernel else PYGRUB, disks=tuple(disks), nics=nics,
        autostart=shape.autostart, on_crash=shape.on_crash,
        meta=GranjaMeta(cluster=member.cluster, template=template),
    )


def _mac(number: int) -> str:
    """A MAC in Xen's 00:16:3e prefix; numbered so no two NICs of the farm share one."""
    return "00:16:3e:" + ":".join(f"{(number >> shift) & 0xFF:02x}" for shift in (16, 8, 0))


def _clusters(members: Sequence[Member]) -> list[tuple[str, str, str]]:
    described = {spec.name: spec for spec in CLUSTERS}
    seen: dict[str, tuple[str, str, str]] = {}
    for member in members:
        if member.cluster and member.cluster not in seen:
            spec = described[member.spec.cluster]
            seen[member.cluster] = (member.cluster, spec.template, spec.description)
    return list(seen.values())

