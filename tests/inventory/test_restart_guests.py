"""The host failure simulation strands a VM for its disks exactly when `recover` would leave it."""

from __future__ import annotations

from datetime import UTC, datetime

from hypervisor.model import Disk
from hypervisor.shared_storage import local_disks
from tests.inventory.builders import make_vm

SHARED = frozenset({"nfs"})
DISKS = {
    "on-nfs": (Disk("xvda", "/nfs/a.img", pool="nfs"),),
    "on-local": (Disk("xvda", "/dev/vg0/b", pool="vg0"),),
    "no-pool": (Disk("xvda", "/srv/c.img"),),
    "on-rbd": (Disk("vda", "pool/d", kind="network", protocol="rbd", hosts=("mon1:6789",)),),
    "lun-local": (Disk("sda", "/dev/sdb", device="lun", pool="vg0"),),
    "cdrom-local": (Disk("xvda", "/nfs/e.img", pool="nfs"), Disk("hdc", "/iso/x.iso", device="cdrom",
                                                                 pool="isos")),
}


def test_a_vm_is_stranded_in_the_simulation_exactly_when_recover_would_leave_it(inv):
    vms = [make_vm(name, "host1", disks=disks) for name, disks in DISKS.items()]
    for vm in vms:
        inv.record_vm(vm, at=datetime(2026, 11, 30, tzinfo=UTC), command="refresh", user="test")
    _, local = inv.restart_guests(SHARED)
    assert {name for name in local} == {vm.name for vm in vms if local_disks(vm, SHARED)}
    assert set(local) == {"on-local", "no-pool", "lun-local"}
