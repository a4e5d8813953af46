"""Small farms for inventory tests, built directly from hypervisor.model values."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypervisor.host_model import Host, Pool
from hypervisor.model import NIC, VM, Disk, GranjaMeta, Virt, VMState

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def mac(name: str, n: int) -> str:
    digest = uuid.uuid5(uuid.NAMESPACE_DNS, name).bytes
    return "00:16:3e:" + ":".join(f"{b:02x}" for b in (digest[0], digest[1], n))


def make_vm(name: str, host: str = "host1", **changes: object) -> VM:
    vm = VM(
        name=name,
        uuid=str(uuid.uuid5(uuid.NAMESPACE_DNS, name)),
        host=host,
        state=VMState.RUNNING,
        vcpus=2,
        memory_mib=1024,
        virt=Virt.PV,
        os_type="linux",
        kernel="/boot/vmlinuz",
        max_memory_mib=2048,
        disks=(
            Disk("xvda", f"/dev/vg0/{name}-root", "xen", pool="vg0", size_bytes=10 * 2**30, kind="block"),
            Disk("xvdb", f"/dev/vg0/{name}-swap", "xen", pool="vg0", size_bytes=2**30, kind="block"),
        ),
        nics=tuple(NIC(mac(name, n), f"br{100 + n}", "netfront") for n in range(3)),
        autostart=True,
        meta=GranjaMeta(cluster="", template="debian12"),
    )
    return replace(vm, **changes)  # type: ignore[arg-type]


def make_host(name: str) -> Host:
    return Host(
        name=name,
        uri=f"xen+ssh://root@{name}/",
        driver="Xen",
        cpus=16,
        memory_mib=65536,
        cpu_model="Xeon",
        live_migration=True,
        pools=(Pool("vg0", 2**40, 2**39, 2**39),),
    )


def in_cluster(vm: VM, cluster: str) -> VM:
    return replace(vm, meta=replace(vm.meta, cluster=cluster))
