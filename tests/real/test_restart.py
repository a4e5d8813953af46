"""State that survives a host reboot: autostart VMs come back, and a refresh makes the inventory agree."""

from __future__ import annotations

import time

import libvirt

from bot.results import Outcome
from tests.real.conftest import define_guest


def wait_running(uri: str, name: str, seconds: float = 20.0) -> bool:
    conn = libvirt.open(uri)
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if conn.lookupByName(name).isActive():
                return True
            time.sleep(0.1)
        return False
    finally:
        conn.close()


def test_autostart_guest_comes_back_after_a_host_reboot_and_refresh_agrees(hosts, real_chat):
    real1 = hosts.hosts[0]
    define_guest(real1, "keeper")
    define_guest(real1, "loner")
    real_chat.send("refresh")
    reply = real_chat.send("autostart keeper on")
    assert reply.outcome is Outcome.OK, real_chat.transcript
    real_chat.send("policy keeper on_crash restart")
    assert "keeper: on_crash is now restart (from its next start), was destroy." in real_chat.transcript

    real1.reboot()  # every process of the host stops, /run is emptied, libvirtd starts again
    assert wait_running(real1.tcp_uri, "keeper"), "libvirtd did not autostart keeper"
    reply = real_chat.send("refresh")
    assert reply.outcome is Outcome.OK, real_chat.transcript
    inventory = real_chat.engine.inventory
    keeper, loner = inventory.vm("keeper").vm, inventory.vm("loner").vm
    assert (keeper.state.value, keeper.autostart, keeper.on_crash) == ("running", True, "restart")
    assert (loner.state.value, loner.autostart) == ("shut off", False)
    real_chat.send("show keeper")
    assert "autostart  on   on_crash restart" in real_chat.transcript


def test_guests_keep_running_through_a_libvirtd_restart_and_refresh_agrees(hosts, real_chat):
    real1 = hosts.hosts[0]
    define_guest(real1, "steady")
    real_chat.send("refresh")
    before = real1.libvirtd_pid()
    real1.restart_libvirtd()
    assert real1.libvirtd_pid() != before
    reply = real_chat.send("refresh")  # the old connection died with the daemon: granja reconnects
    assert reply.outcome is Outcome.OK, real_chat.transcript
    assert "Not answering" not in real_chat.transcript
    assert real_chat.engine.inventory.vm("steady").vm.state.value == "running"
    real_chat.send("where is steady")
    assert real_chat.transcript == "steady is on real1 (running)."
