"""Lifecycle changes followed through libvirt's domain events on a real daemon."""

from __future__ import annotations

import subprocess
import threading
import time

from bot.results import Outcome
from hypervisor.model import VMState
from tests.real.conftest import define_guest


def test_waiting_for_off_returns_on_the_stopped_event(hosts, real_engine):
    real1 = hosts.hosts[0]
    define_guest(real1)
    driver = real_engine.farm.driver("real1")
    pulled = threading.Timer(0.5, lambda: subprocess.run(
        ["virsh", "-c", real1.tcp_uri, "destroy", "tiny"], capture_output=True, check=True))
    begun = time.monotonic()
    pulled.start()
    vm = driver.wait_for_off("tiny", 60.0)
    took = time.monotonic() - begun
    pulled.join()
    assert vm.state is VMState.SHUTOFF
    # QEMU takes a second or two to exit; the point is returning then, not at the 60 s cap.
    assert took < 20.0, f"waited {took:.1f} s for a stop that happened after 0.5 s"


def test_a_guest_that_ignores_shutdown_is_reported_after_the_timeout(hosts, real_chat):
    define_guest(hosts.hosts[0])  # no OS inside: nothing answers the ACPI power button
    real_chat.send("refresh")
    real_chat.engine.farm.shutdown_timeout = 1.0
    reply = real_chat.send("shutdown tiny")
    assert reply.outcome is Outcome.FAILED
    assert "tiny was asked to shut down but is still running after 1 s. Use 'destroy tiny'" in (
        real_chat.transcript)
    assert real_chat.transcript.endswith("tiny is running on real1.")
