"""A rolling reboot on real QEMU hosts waits until each member has rebooted, or stops when one does not.

`virDomainReboot` only asks: for a QEMU guest without a guest agent libvirt presses the ACPI
power button and returns, and a guest that ignores the button stays running. So the test needs
a guest that reacts as an operating system does. The guests here have no OS (they idle in the
BIOS), so the test plays the OS's part: the guest gets ACPI (`<features><acpi/>`), and when
QEMU reports the power button (its POWERDOWN monitor event) the "OS" stops its service (the
health port closes), takes a moment, then powers off through the ACPI PM1a control register
(HMP `o /w 0x604 0x2000`: SLP_EN with S5, what Linux writes on `poweroff`). libvirt, which
asked for a reboot, turns that power-off into a reset itself (its "fake reboot") and reports
VIR_DOMAIN_EVENT_ID_REBOOT: the same path a real Linux guest takes. The service port opens
again once the guest is up. A guest without ACPI (the plain tiny guest) cannot see the button:
it is the member that ignores the request.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import libvirt
import libvirt_qemu

from bot.results import Outcome
from granja.app import open_engine
from hypervisor.events import ensure_event_loop
from tests.conftest import Chat
from tests.real.conftest import fleet_toml
from tests.real.daemons import listen, tiny_guest_xml

METADATA = ("<metadata><granja:vm xmlns:granja='https://granja.dev/xmlns/vm/1'>"
            "<granja:cluster>svc</granja:cluster></granja:vm></metadata>")
POWER_OFF = "o /w 0x604 0x2000"  # PIIX4 PM1a_CNT (PM base 0x600 as SeaBIOS sets it): SLP_EN, S5


class GuestOS:
    """Plays the members' operating system and their shared service, from QEMU's and libvirt's events.

    A member with `acpi` reacts to the power button: `react` seconds later (an OS takes a moment
    to shut down) its service stops and it powers off, and the service answers again `boot`
    seconds after libvirt reports the reboot. The service's port listens only while every
    member's service is up.
    """

    def __init__(self, uris: dict[str, str], acpi: set[str], react: float = 1.0, boot: float = 0.5) -> None:
        ensure_event_loop()
        self.react, self.boot, self.acpi = react, boot, acpi
        self.port = 0
        self.events: list[str] = []  # "NAME asked", "NAME rebooted", "open", "closed"
        self.down: set[str] = set()
        self.asked: set[str] = set()  # pressed the button, not yet rebooted
        self._changed = threading.Condition()
        self._listener: socket.socket | None = None
        self._conns: dict[str, libvirt.virConnect] = {}
        self._doms: dict[str, libvirt.virDomain] = {}
        self._callbacks: list[tuple[libvirt.virConnect, int, bool]] = []
        for name, uri in uris.items():
            conn = libvirt.open(uri)
            xml = tiny_guest_xml(name).replace(f"<name>{name}</name>", f"<name>{name}</name>{METADATA}")
            if name in acpi:
                xml = xml.replace("</os>", "</os>\n  <features><acpi/></features>")
            dom = conn.defineXML(xml)
            dom.create()
            self._conns[name], self._doms[name] = conn, dom
            self._callbacks.append((conn, libvirt_qemu.qemuMonitorEventRegister(
                conn, dom, "POWERDOWN", self._on_button, name, 0), True))
            self._callbacks.append((conn, conn.domainEventRegisterAny(
                dom, libvirt.VIR_DOMAIN_EVENT_ID_REBOOT, self._on_reboot, name), False))
        self._open()

    def _note(self, event: str) -> None:
        with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    def _open(self) -> None:
        with self._changed:
            if self._listener is not None or self.down:
                return
            listener = listen(self.port)
            self.port = listener.getsockname()[1]
            self._listener = listener
        self._note("open")

    def _on_button(self, _conn, _dom, _event: str, _seconds, _micros, _details, name: str) -> None:
        self._note(f"{name} asked")
        if name not in self.acpi:
            return  # QEMU reports the press, but a machine without ACPI has no button to see
        with self._changed:
            self.asked.add(name)
        # The OS takes its time to stop (a timer: the guest's pace), then its service and the machine go down.
        threading.Timer(self.react, self._power_off, args=(name,)).start()

    def _power_off(self, name: str) -> None:
        with self._changed:
            self.down.add(name)
            listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
            self._note("closed")
        libvirt_qemu.qemuMonitorCommand(self._doms[name], POWER_OFF,
                                        libvirt_qemu.VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP)

    def _on_reboot(self, _conn, _dom, name: str) -> None:
        with self._changed:
            if name not in self.asked:
                return  # libvirt reports one reset more than once, or one the guest did not ask for
            self.asked.discard(name)
        self._note(f"{name} rebooted")
        threading.Timer(self.boot, self._back, args=(name,)).start()

    def _back(self, name: str) -> None:
        with self._changed:
            self.down.discard(name)
        self._open()

    def wait_for(self, event: str, seconds: float = 30.0) -> None:
        with self._changed:
            assert self._changed.wait_for(lambda: event in self.events, timeout=seconds), self.events

    def running(self, name: str) -> bool:
        return bool(self._doms[name].isActive())

    def ask(self, name: str) -> None:
        self._doms[name].reboot(0)

    def close(self) -> None:
        for conn, callback, qemu in self._callbacks:
            if qemu:
                libvirt_qemu.qemuMonitorEventDeregister(conn, callback)
            else:
                conn.domainEventDeregisterAny(callback)
        for conn in self._conns.values():
            conn.close()
        if self._listener is not None:
            self._listener.close()


def rolling_reboot(hosts, tmp_path: Path, guests: GuestOS, shutdown_timeout: float):
    config = tmp_path / "farm.toml"
    config.write_text(fleet_toml(hosts) + f'\n[clusters.svc]\nhealth = "tcp:127.0.0.1:{guests.port}"\n'
                                          "health_timeout = 30\n")
    engine = open_engine(config=str(config), state=str(tmp_path / "state"))
    engine.farm.shutdown_timeout = shutdown_timeout
    chat = Chat(engine)
    return chat.send("rolling reboot svc"), chat


def test_a_rolling_reboot_waits_for_each_member_to_reboot_and_answer(hosts, tmp_path: Path):
    uris = {"svc1": hosts.hosts[0].tcp_uri, "svc2": hosts.hosts[1].tcp_uri}
    guests = GuestOS(uris, acpi={"svc1", "svc2"})
    try:
        reply, chat = rolling_reboot(hosts, tmp_path, guests, shutdown_timeout=30.0)
        guests.wait_for("svc2 rebooted")
    finally:
        guests.close()
    assert reply.outcome is Outcome.OK, chat.transcript
    assert "Rolling reboot of svc done: 2 done." in chat.transcript
    assert "svc1: rebooted on real1" in chat.transcript
    # svc2 was asked only once svc1 had rebooted and the service answered again.
    assert guests.events[:6] == ["open", "svc1 asked", "closed", "svc1 rebooted", "open", "svc2 asked"], \
        (guests.events, chat.transcript)
    assert chat.transcript.count(f"answers on 127.0.0.1:{guests.port}") == 2
    assert guests.running("svc1")
    assert guests.running("svc2")


def test_a_member_that_ignores_the_reboot_stops_the_run_named(hosts, tmp_path: Path):
    uris = {"svc1": hosts.hosts[0].tcp_uri, "svc2": hosts.hosts[1].tcp_uri}
    guests = GuestOS(uris, acpi={"svc2"})  # svc1 has no ACPI: it never sees the power button
    try:
        begun = time.monotonic()
        reply, chat = rolling_reboot(hosts, tmp_path, guests, shutdown_timeout=3.0)
        took = time.monotonic() - begun
        # Had the run asked svc2 to reboot, that request's POWERDOWN would come before this one's.
        guests.ask("svc2")
        guests.wait_for("svc2 asked")
        assert guests.events.count("svc2 asked") == 1, guests.events
        assert guests.running("svc1")
    finally:
        guests.close()
    assert reply.outcome is Outcome.FAILED, chat.transcript
    assert ("svc1 did not reboot within 3 s: its guest may ignore the request; use 'rolling restart'"
            in chat.transcript), chat.transcript
    assert "svc1 is running on real1" in chat.transcript
    assert "Rolling reboot of svc stopped at a failure: 0 done, 1 not tried." in chat.transcript
    assert took >= 3.0  # it waited the whole time for the reboot
