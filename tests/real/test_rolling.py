"""A rolling restart of a two-member cluster on real QEMU hosts, gated by a TCP health port.

The guests have no OS and no network, so their "service" is played by the test on loopback:
a listener that is open only while both members run (it closes when one goes down and opens
again once libvirt reports it running). The cluster's health check points at it with
`health = "tcp:127.0.0.1:PORT"`, the form a farm uses for a fixed address (`tcp:{vm}.example:993`
or the member's libvirt-reported address are the others).
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import libvirt

from bot.results import Outcome
from granja.app import open_engine
from hypervisor.events import ensure_event_loop
from tests.conftest import Chat
from tests.real.conftest import fleet_toml
from tests.real.daemons import listen, tiny_guest_xml

METADATA = ("<metadata><granja:vm xmlns:granja='https://granja.dev/xmlns/vm/1'>"
            "<granja:cluster>svc</granja:cluster></granja:vm></metadata>")


class Service:
    """The members' service as a test sees it: a port that listens only while every member runs.

    It follows libvirt's lifecycle events: a member stopping closes the port at once; once every
    member has started again the port opens after `boot` seconds, as a service that takes a
    moment to come up after its guest starts.
    """

    def __init__(self, uris: dict[str, str], boot: float = 0.5) -> None:
        ensure_event_loop()
        self.boot = boot
        self.port = 0
        self.events: list[tuple[float, str]] = []  # (when, "open" | "closed" | "NAME off" | "NAME on")
        self.running = set(uris)
        self.least_running = len(uris)
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._conns = [libvirt.open(uri) for uri in uris.values()]
        self._callbacks = [(conn, conn.domainEventRegisterAny(conn.lookupByName(name),
                                                              libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                                              self._on_event, name))
                           for conn, name in zip(self._conns, uris, strict=True)]
        self._open()

    def _open(self) -> None:
        with self._lock:
            if self._listener is not None or len(self.running) < len(self._conns):
                return
            listener = listen(self.port)
            self.port = listener.getsockname()[1]
            self._listener = listener
            self.events.append((time.monotonic(), "open"))

    def _on_event(self, _conn, _dom, event: int, _detail: int, name: str) -> None:
        with self._lock:
            if event == libvirt.VIR_DOMAIN_EVENT_STOPPED:
                self.running.discard(name)
                self.least_running = min(self.least_running, len(self.running))
                self.events.append((time.monotonic(), f"{name} off"))
                if self._listener is not None:
                    self._listener.close()
                    self._listener = None
                    self.events.append((time.monotonic(), "closed"))
            elif event == libvirt.VIR_DOMAIN_EVENT_STARTED:
                self.running.add(name)
                self.events.append((time.monotonic(), f"{name} on"))
                threading.Timer(self.boot, self._open).start()

    def close(self) -> None:
        for conn, callback in self._callbacks:
            conn.domainEventDeregisterAny(callback)
            conn.close()
        if self._listener is not None:
            self._listener.close()

    def first(self, event: str, after: float = 0.0) -> float:
        return next(t for t, e in self.events if e == event and t > after)


def test_a_rolling_restart_waits_for_each_member_to_answer_before_the_next(hosts, tmp_path: Path):
    uris = {"svc1": hosts.hosts[0].tcp_uri, "svc2": hosts.hosts[1].tcp_uri}
    for name, uri in uris.items():
        conn = libvirt.open(uri)
        try:
            xml = tiny_guest_xml(name).replace(f"<name>{name}</name>", f"<name>{name}</name>{METADATA}")
            conn.defineXML(xml).create()
        finally:
            conn.close()
    service = Service(uris)
    try:
        config = tmp_path / "farm.toml"
        config.write_text(fleet_toml(hosts) + f'\n[clusters.svc]\nhealth = "tcp:127.0.0.1:{service.port}"\n'
                                              "health_timeout = 30\n")
        engine = open_engine(config=str(config), state=str(tmp_path / "state"))
        engine.farm.shutdown_timeout = 1.0  # no OS answers the power button: 'force' powers it off
        chat = Chat(engine)
        reply = chat.send("rolling restart svc force")
    finally:
        service.close()
    assert reply.outcome is Outcome.OK, chat.transcript
    assert "Rolling restart of svc done: 2 done." in chat.transcript
    assert "svc1 did not shut down in time: powering it off" in chat.transcript
    assert chat.transcript.count(f"answers on 127.0.0.1:{service.port}") == 2
    assert service.least_running == 1  # one member down at a time, never both
    # svc2 went down only after the service answered again following svc1's restart.
    svc1_off = service.first("svc1 off")
    back = service.first("open", after=service.first("svc1 on", after=svc1_off))
    assert service.first("svc2 off") > back
    assert [e for _, e in service.events] == ["open", "svc1 off", "closed", "svc1 on", "open",
                                               "svc2 off", "closed", "svc2 on", "open"]
    for uri, name in ((hosts.hosts[0].tcp_uri, "svc1"), (hosts.hosts[1].tcp_uri, "svc2")):
        conn = libvirt.open(uri)
        try:
            assert conn.lookupByName(name).isActive()
        finally:
            conn.close()
