"""Shared iSCSI storage on real daemons: a guest on a LUN migrates live, and is recovered from a crash.

Every real host reaches the session's tgtd through its `iscsi-direct` pool "san" (named in
`farm.shared_pools` too). Markers are written to the LUN and read back by an initiator of the
test's own (qemu-io over libiscsi) and written by the guest's own QEMU (its `qemu-io` monitor command),
to show that the guest's disk is that LUN, before and after.
"""

from __future__ import annotations

import re
import subprocess

import libvirt
import pytest

from bot.results import Outcome
from tests.real.conftest import define_guest
from tests.real.daemons import RealHost, alive
from tests.real.iscsi import has_marker, write_marker
from tests.real.test_migration import domain_state, slow_down

# Markers: written by the test's own initiator, by the guest's QEMU before, and by its QEMU after.
BEFORE, BY_GUEST, AFTER = 0x5A, 0xC3, 0x3C
MIB = 2**20
# Why a guest whose disk is in no pool stays, and what would let it move.
IN_NO_POOL = ("its disk vda (/var/lib/libvirt/images/tiny.img) is in no storage pool, so no other host is "
              "known to reach it")
TO_SHARE = ("if /var/lib/libvirt/images is the same storage on every host, define it as a storage pool on "
            "each (virsh pool-define-as NAME dir --target /var/lib/libvirt/images) and name that pool in "
            "farm.shared_pools")


def monitor(host: RealHost, name: str, command: str) -> str:
    """Run a QEMU human-monitor command in the guest's QEMU on `host`."""
    done = subprocess.run(["virsh", "-c", host.tcp_uri, "qemu-monitor-command", "--hmp", name, command],
                          capture_output=True, text=True, timeout=30, check=True)
    return done.stdout


def guest_writes(host: RealHost, name: str, pattern: int, offset: int) -> None:
    """Make the guest's own QEMU write 4 KiB of `pattern` at `offset` of its disk (through its libiscsi
    session to the LUN), with the monitor's `qemu-io` on the disk's device."""
    out = monitor(host, name, f'qemu-io -d /machine/peripheral/virtio-disk0/virtio-backend '
                              f'"write -P {pattern:#04x} {offset} 4096"')
    assert not out.strip(), f"the guest's QEMU could not write its disk: {out}"


def domain_xml(host: RealHost, name: str) -> str:
    conn = libvirt.open(host.tcp_uri)
    try:
        return str(conn.lookupByName(name).XMLDesc(0))
    finally:
        conn.close()


@pytest.fixture
def crashing(hosts):
    """The real hosts, for a test that crashes one: a crashed host is booted again afterwards,
    so that tests using the session's hosts directly find them all up."""
    yield hosts
    for host in hosts.hosts:
        if not host.running:
            host.reboot()


def test_a_guest_on_a_lun_migrates_live_with_progress_and_keeps_its_disk(hosts, real_chat, lun, payload):
    real1, real2, _ = hosts.hosts
    write_marker(lun, BEFORE, MIB)
    define_guest(real1, disk=lun.disk_xml(), payload=payload)
    real_chat.send("refresh")
    disk = real_chat.engine.inventory.vm("tiny").vm.disks[0]
    assert (disk.target, disk.pool) == ("vda", "san")  # the LUN, found in its pool
    assert disk.size_bytes is not None
    assert 63 * MIB < disk.size_bytes <= 64 * MIB
    slow_down(real1.tcp_uri, "tiny", 8)  # 16 MiB of payload: about two seconds to watch
    reply = real_chat.send("migrate tiny to real2")
    assert reply.outcome is Outcome.OK, real_chat.transcript
    assert re.search(r"… migrating, \d+ MiB( of \d+ MiB)? left", real_chat.transcript), real_chat.transcript
    assert re.search(r"tiny moved from real1 to real2 \(live, \d+\.\d s\): now running on real2",
                     real_chat.transcript)
    assert domain_state(real2.tcp_uri, "tiny") == libvirt.VIR_DOMAIN_RUNNING
    assert domain_state(real1.tcp_uri, "tiny") is None
    assert f"<source protocol='iscsi' name='{lun.iqn}/{lun.number}'" in domain_xml(real2, "tiny")
    assert has_marker(lun, BEFORE, MIB)
    guest_writes(real2, "tiny", AFTER, 3 * MIB)  # the moved guest's disk is still the LUN
    assert has_marker(lun, AFTER, 3 * MIB)
    real_chat.send("where is tiny")
    assert real_chat.transcript == "tiny is on real2 (running)."


@pytest.mark.parametrize("form", ["lun", "volume"])
def test_recover_starts_a_crashed_hosts_guest_elsewhere_from_the_same_lun(crashing, real_chat, lun, form):
    hosts = crashing
    real1 = hosts.hosts[0]
    write_marker(lun, BEFORE, MIB)
    define_guest(real1, disk=lun.disk_xml() if form == "lun" else lun.volume_xml())
    guest_writes(real1, "tiny", BY_GUEST, 2 * MIB)  # the guest writes, then dies
    real_chat.send("refresh")
    assert real_chat.engine.inventory.vm("tiny").vm.disks[0].pool == "san"

    killed = real1.crash()  # libvirtd and the guest's QEMU, SIGKILL by PID: no shutdown of anything
    assert len(killed) == 1
    assert not any(alive(pid) for pid in killed)
    assert has_marker(lun, BEFORE, MIB)
    assert has_marker(lun, BY_GUEST, 2 * MIB)

    reply = real_chat.send("recover real1")
    assert reply.outcome is Outcome.OK, real_chat.transcript
    assert "CONFIRM ONLY IF real1 IS REALLY OFF" in real_chat.transcript
    started = re.search(r"started +tiny → (real\d)", real_chat.transcript)
    assert started, real_chat.transcript
    where = hosts.host(started.group(1))
    assert domain_state(where.tcp_uri, "tiny") == libvirt.VIR_DOMAIN_RUNNING
    assert real_chat.engine.inventory.vm("tiny").vm.host == where.name
    assert has_marker(lun, BEFORE, MIB)
    assert has_marker(lun, BY_GUEST, 2 * MIB)
    guest_writes(where, "tiny", AFTER, 3 * MIB)  # the recovered guest's disk is that LUN
    assert has_marker(lun, AFTER, 3 * MIB)
    xml = domain_xml(where, "tiny")
    if form == "lun":  # the full definition: the disk straight on the LUN, cache off for live migration
        assert f"<source protocol='iscsi' name='{lun.iqn}/{lun.number}'" in xml, xml
        assert "cache='none'" in xml, xml
    else:
        assert f"<source pool='san' volume='unit:0:0:{lun.number}'" in xml, xml


def test_recover_refuses_a_guest_whose_disk_only_its_host_reaches(crashing, real_chat):
    hosts = crashing
    real1 = hosts.hosts[0]
    guest_on_a_file_in_no_pool(real1)
    real_chat.send("refresh")
    real1.crash()
    reply = real_chat.send("recover real1")
    assert reply.outcome is Outcome.REFUSED, real_chat.transcript
    assert real_chat.transcript == (
        f"No VM of real1 can be started elsewhere:\n  stays tiny: {IN_NO_POOL}; {TO_SHARE}")
    for other in hosts.hosts[1:]:
        assert domain_state(other.tcp_uri, "tiny") is None


def test_migrate_refuses_a_running_guest_whose_disk_is_in_no_pool(hosts, real_chat):
    """The same path on another host may hold another file: libvirt would start the guest on it."""
    real1, real2, _ = hosts.hosts
    guest_on_a_file_in_no_pool(real1, also=real2)
    real_chat.send("refresh")
    assert real_chat.engine.inventory.vm("tiny").vm.disks[0].pool == ""
    reply = real_chat.send("migrate tiny to real2")
    assert reply.outcome is Outcome.REFUSED, real_chat.transcript
    assert real_chat.transcript == f"Not moving tiny: {IN_NO_POOL}. {TO_SHARE[0].upper()}{TO_SHARE[1:]}."
    assert domain_state(real1.tcp_uri, "tiny") == libvirt.VIR_DOMAIN_RUNNING
    assert domain_state(real2.tcp_uri, "tiny") is None


def guest_on_a_file_in_no_pool(host: RealHost, *, also: RealHost | None = None) -> None:
    """Guest `tiny` on `host`, its disk an image file no pool holds (one at the same path on `also`)."""
    for each in (host, *([also] if also else [])):
        image = each.dir("lib") / "images" / "tiny.img"
        image.parent.mkdir(parents=True, exist_ok=True)
        with image.open("wb") as backing:
            backing.truncate(16 * MIB)
    define_guest(host, disk="<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
                            "<source file='/var/lib/libvirt/images/tiny.img'/>"
                            "<target dev='vda' bus='virtio'/></disk>")
