"""Live migration between real libvirt daemons, and the ways it fails, through the chat engine."""

from __future__ import annotations

import os
import re
import signal
import threading
import time

import libvirt

from bot.results import Outcome
from hypervisor.model import gib
from tests.real.conftest import HOST_TIMEOUT, define_guest


def domain_state(uri: str, name: str) -> int | None:
    """libvirt's state of a domain on a host, or None if the host does not have it."""
    conn = libvirt.open(uri)
    try:
        return int(conn.lookupByName(name).state()[0])
    except libvirt.libvirtError:
        return None
    finally:
        conn.close()


def persistent(uri: str, name: str) -> bool:
    """Whether the host keeps a definition of the domain (it survives a stop or a daemon restart)."""
    conn = libvirt.open(uri)
    try:
        return bool(conn.lookupByName(name).isPersistent())
    finally:
        conn.close()


def slow_down(uri: str, name: str, mib_per_s: int) -> None:
    conn = libvirt.open(uri)
    try:
        conn.lookupByName(name).migrateSetMaxSpeed(mib_per_s)
    finally:
        conn.close()


def test_live_migration_moves_the_running_guest_and_reports_progress(hosts, real_chat, payload):
    real1, real2, _ = hosts.hosts
    define_guest(real1, payload=payload)
    real_chat.send("refresh")
    slow_down(real1.tcp_uri, "tiny", 8)  # 16 MiB of payload: about two seconds of transfer
    reply = real_chat.send("migrate tiny to real2")
    assert reply.outcome is Outcome.OK, real_chat.transcript
    assert "About to: migrate tiny real1 → real2, live (both hosts' drivers (QEMU)" in real_chat.transcript
    assert re.search(r"… migrating, \d+ MiB( of \d+ MiB)? left at [\d.]+ MiB/s, \d+ s elapsed",
                     real_chat.transcript), real_chat.transcript
    assert re.search(r"tiny moved from real1 to real2 \(live, \d+\.\d s\): now running on real2",
                     real_chat.transcript)
    assert domain_state(real2.tcp_uri, "tiny") == libvirt.VIR_DOMAIN_RUNNING
    assert persistent(real2.tcp_uri, "tiny"), "a live-migrated VM must stay defined on its new host"
    assert real_chat.engine.farm.driver("real2").find_vm("tiny").persistent
    assert domain_state(real1.tcp_uri, "tiny") is None
    real_chat.send("where is tiny")
    assert real_chat.transcript == "tiny is on real2 (running)."


def test_migration_over_ssh_uri_to_the_third_host(hosts, real_chat):
    define_guest(hosts.hosts[0])
    real_chat.send("refresh")
    reply = real_chat.send("migrate tiny to real3")
    assert reply.outcome is Outcome.OK, real_chat.transcript
    assert domain_state(hosts.hosts[2].tcp_uri, "tiny") == libvirt.VIR_DOMAIN_RUNNING
    assert persistent(hosts.hosts[2].tcp_uri, "tiny")


def test_target_killed_mid_migration_leaves_the_guest_running_on_the_source(hosts, real_chat, payload):
    real1, real2, _ = hosts.hosts
    define_guest(real1, payload=payload)
    real_chat.send("refresh")
    slow_down(real1.tcp_uri, "tiny", 2)  # about eight seconds: time to pull the plug on real2
    killed = threading.Event()

    def kill_when_transferring() -> None:
        conn = libvirt.open(real1.tcp_uri)
        dom = conn.lookupByName("tiny")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if dom.jobStats().get("memory_processed", 0) > 2**20:
                real2.stop()
                killed.set()
                break
            time.sleep(0.05)
        conn.close()

    killer = threading.Thread(target=kill_when_transferring)
    killer.start()
    reply = real_chat.send("migrate tiny to real2")
    killer.join()
    assert killed.is_set(), "the migration ended before any data moved"
    assert reply.outcome is Outcome.FAILED
    assert "Migration of tiny from real1 to real2 failed" in real_chat.transcript
    assert real_chat.transcript.endswith("tiny is running on real1.")
    assert domain_state(real1.tcp_uri, "tiny") == libvirt.VIR_DOMAIN_RUNNING
    assert real_chat.engine.inventory.vm("tiny").vm.host == "real1"


def test_unreachable_target_is_refused_before_anything_starts(hosts, real_chat):
    real1, real2, _ = hosts.hosts
    define_guest(real1)
    real_chat.send("refresh")
    real2.stop()
    reply = real_chat.send("migrate tiny to real2")
    assert reply.outcome is Outcome.FAILED
    assert not real_chat.transcript.startswith("About to:")
    assert "Host real2 is unreachable" in real_chat.transcript
    assert real_chat.transcript.endswith("Nothing was changed.")
    assert domain_state(real1.tcp_uri, "tiny") == libvirt.VIR_DOMAIN_RUNNING


def test_target_without_enough_free_memory_is_refused(hosts, real_chat):
    real1, real2, _ = hosts.hosts
    conn = libvirt.open(real2.tcp_uri)
    host_mib = conn.getInfo()[1]
    conn.close()
    # QEMU allocates guest RAM lazily, so these sizes cost address space, not memory.
    define_guest(real2, "hog", memory_mib=host_mib * 6 // 10)
    define_guest(real1, "wide", memory_mib=host_mib * 5 // 10)
    real_chat.send("refresh")
    reply = real_chat.send("migrate wide to real2")
    assert reply.outcome is Outcome.REFUSED, real_chat.transcript
    free, needed = gib(host_mib - host_mib * 6 // 10), gib(host_mib * 5 // 10)
    assert f"real2 has {free} of memory free and wide needs {needed}" in real_chat.transcript
    assert domain_state(real1.tcp_uri, "wide") == libvirt.VIR_DOMAIN_RUNNING


def test_stopped_host_is_marked_unreachable_within_the_timeout_and_where_answers(hosts, real_chat):
    real1, real2, real3 = hosts.hosts
    define_guest(real2)
    real_chat.send("refresh")
    real2.stop()
    begun = time.monotonic()
    reply = real_chat.send("refresh")
    took = time.monotonic() - begun
    assert reply.outcome is Outcome.OK, real_chat.transcript
    assert took < HOST_TIMEOUT + 4  # the deadline, plus the inventory's own work on a busy machine
    assert "Refreshed 2 hosts" in real_chat.transcript
    assert "real2 (" in real_chat.transcript
    inventory = real_chat.engine.inventory
    assert inventory.host("real2").unreachable_since is not None
    assert inventory.host("real1").unreachable_since is None
    real_chat.send("where is tiny")
    assert real_chat.transcript.startswith("tiny was last seen on real2 (running) at ")
    assert "real2 is not answering now" in real_chat.transcript


def test_hung_host_times_out_while_the_others_answer(hosts, real_chat):
    real1, real2, _ = hosts.hosts
    define_guest(real1)
    real_chat.send("refresh")
    frozen = real2.libvirtd_pid()
    os.kill(frozen, signal.SIGSTOP)  # the daemon accepts connections but never answers
    try:
        begun = time.monotonic()
        reply = real_chat.send("refresh")
        took = time.monotonic() - begun
    finally:
        os.kill(frozen, signal.SIGCONT)
    assert reply.outcome is Outcome.OK, real_chat.transcript
    assert took < HOST_TIMEOUT + 4  # the deadline, plus the inventory's own work on a busy machine
    assert f"real2 (no answer within {HOST_TIMEOUT:g} s)" in real_chat.transcript
    assert "Refreshed 2 hosts and 1 VMs" in real_chat.transcript
