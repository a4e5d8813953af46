"""One event connection per host for the whole farm: lifecycle events, close callbacks, keepalive, reconnects.

Thread budget, whatever the farm's size: libvirt's one event-loop thread
(`events.ensure_event_loop`) delivers every host's events and notices dead
connections through keepalive; one scheduler thread decides who to
(re)connect and when, with exponential backoff; at most `open_workers`
threads open connections, each open bounded by `timeout` (a host whose open
overruns is reported down, and is tried again only once that open returns,
so a hung host costs at most one thread). Connections: one per host.

It knows nothing of alerts: it says "this domain on this host is now in
this state, for this reason" and "this host answers / does not".
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import libvirt

from hypervisor.events import ensure_event_loop
from hypervisor.model import VMState
from hypervisor.threads import start_thread

log = logging.getLogger("granja.events")
DomainCallback = Callable[[str, str, "VMState | None", str], None]
"""(host, VM, its state now or None when it left the host, libvirt's cause in words)."""
HostCallback = Callable[[str, bool, str], None]
"""(host, whether it answers now, why not)."""

_E = libvirt
# (event, detail) -> (state after it, cause); a None state means the domain left the host.
_STOPPED = {_E.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN: (VMState.SHUTOFF, "shut down"),
            _E.VIR_DOMAIN_EVENT_STOPPED_DESTROYED: (VMState.SHUTOFF, "destroyed"),
            _E.VIR_DOMAIN_EVENT_STOPPED_CRASHED: (VMState.CRASHED, "crashed"),
            _E.VIR_DOMAIN_EVENT_STOPPED_MIGRATED: (None, "migrated"),
            _E.VIR_DOMAIN_EVENT_STOPPED_SAVED: (VMState.SAVED, "saved"),
            # QEMU died under libvirt (killed, segfault): libvirt says "failed" here and "crashed" as
            # the domain's shut-off reason, which is the word people know.
            _E.VIR_DOMAIN_EVENT_STOPPED_FAILED: (VMState.CRASHED, "crashed"),
            _E.VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT: (VMState.SHUTOFF, "snapshot reverted")}
_STARTED = {_E.VIR_DOMAIN_EVENT_STARTED_BOOTED: "booted", _E.VIR_DOMAIN_EVENT_STARTED_MIGRATED: "migrated",
            _E.VIR_DOMAIN_EVENT_STARTED_RESTORED: "restored",
            _E.VIR_DOMAIN_EVENT_STARTED_FROM_SNAPSHOT: "snapshot reverted",
            _E.VIR_DOMAIN_EVENT_STARTED_WAKEUP: "woken up"}
_CLOSE = {_E.VIR_CONNECT_CLOSE_REASON_ERROR: "connection error", _E.VIR_CONNECT_CLOSE_REASON_EOF:
          "connection closed by the host", _E.VIR_CONNECT_CLOSE_REASON_KEEPALIVE: "keepalive timed out",
          _E.VIR_CONNECT_CLOSE_REASON_CLIENT: "closed"}


def lifecycle_meaning(event: int, detail: int) -> tuple[VMState | None, str] | None:
    """A lifecycle event in our words: (state after it, cause; None state: it left); None if no change."""
    if event == _E.VIR_DOMAIN_EVENT_STARTED:
        return VMState.RUNNING, _STARTED.get(detail, "started")
    if event == _E.VIR_DOMAIN_EVENT_STOPPED:
        return _STOPPED.get(detail, (VMState.SHUTOFF, "stopped"))
    if event == _E.VIR_DOMAIN_EVENT_CRASHED:
        return VMState.CRASHED, "crashed"
    if event == _E.VIR_DOMAIN_EVENT_SUSPENDED:
        return VMState.PAUSED, "paused"
    if event == _E.VIR_DOMAIN_EVENT_RESUMED:
        return VMState.RUNNING, "resumed"
    if event == _E.VIR_DOMAIN_EVENT_PMSUSPENDED:
        return VMState.PMSUSPENDED, "suspended by guest"
    # DEFINED, UNDEFINED and SHUTDOWN (a shutdown begun) leave the state as it is: the next poll reads
    # the definitions, and a stop that follows a shutdown has its own event.
    return None


@dataclass(frozen=True)
class Keepalive:
    """libvirt keepalive: a ping every `interval` s; the connection dies after `count` unanswered."""

    interval: int = 5
    count: int = 3


@dataclass
class _Link:
    host: str
    uri: str
    conn: Any = None
    opening_since: float | None = None
    failures: int = 0
    up: bool | None = None  # None until the first open has ended either way
    generation: int = 0  # bumped per connection: a late close callback of an old one is ignored


class EventHub:
    """Event connections to every host, kept open; calls back on domain and host changes."""

    def __init__(self, uris: Mapping[str, str], *, on_domain: DomainCallback, on_host: HostCallback,
                 keepalive: Keepalive = Keepalive(), timeout: float = 10.0, open_workers: int = 8,
                 backoff: tuple[float, float] = (1.0, 30.0), clock: Callable[[], float] = time.monotonic,
                 read_only: bool = True) -> None:
        self._links = {host: _Link(host, uri) for host, uri in uris.items()}
        self._on_domain, self._on_host = on_domain, on_host
        self.keepalive, self.timeout, self.backoff = keepalive, timeout, backoff
        self._clock = clock
        self._read_only = read_only
        self._due: list[tuple[float, str]] = []  # (when, host) to (re)connect
        self._wake = threading.Condition()
        self._pool = ThreadPoolExecutor(max_workers=open_workers, thread_name_prefix="watch-open")
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Open every host's event connection (in the background) and keep them open."""
        ensure_event_loop()
        now = self._clock()
        with self._wake:
            self._due = [(now, host) for host in self._links]
            heapq.heapify(self._due)
        self._thread = start_thread(self._schedule, name="watch-links")  # its pool's threads inherit the mask

    def stop(self) -> None:
        """Close every connection; callbacks stop."""
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._pool.shutdown(wait=False, cancel_futures=True)
        for link in self._links.values():
            self._drop(link)

    def connected(self) -> list[str]:
        """The hosts whose event connection is open now."""
        return [h for h, link in self._links.items() if link.conn is not None]

    def _schedule(self) -> None:
        while True:
            with self._wake:
                if self._stopping:
                    return
                now = self._clock()
                ready = []
                while self._due and self._due[0][0] <= now:
                    ready.append(heapq.heappop(self._due)[1])
                self._overdue(now)
                wait = min([self._due[0][0] - now] if self._due else [1.0]) if not ready else 0
                if wait > 0:
                    self._wake.wait(timeout=min(wait, 1.0))
                    continue
            for host in ready:
                link = self._links[host]
                if link.opening_since is None and link.conn is None:
                    link.opening_since = self._clock()
                    self._pool.submit(self._open, link)

    def _overdue(self, now: float) -> None:
        """Opens past their deadline: the host is down for now (the open is retried once it returns)."""
        for link in self._links.values():
            late = link.opening_since is not None and now - link.opening_since > self.timeout
            if late and link.up is not False:
                link.up = False
                self._tell_host(link.host, False, f"no answer within {self.timeout:g} s")

    def _later(self, link: _Link) -> None:
        low, high = self.backoff
        delay = min(high, low * 2 ** min(link.failures, 16))
        with self._wake:
            heapq.heappush(self._due, (self._clock() + delay, link.host))
            self._wake.notify_all()

    def _open(self, link: _Link) -> None:
        try:
            conn = libvirt.openReadOnly(link.uri) if self._read_only else libvirt.open(link.uri)
            try:
                conn.setKeepAlive(self.keepalive.interval, self.keepalive.count)
            except libvirt.libvirtError as exc:
                # Local drivers (the test driver) have no keepalive: their connection cannot die.
                log.info("no keepalive for %s: %s", link.host, exc)
            link.generation += 1
            generation = link.generation
            conn.registerCloseCallback(lambda _c, reason, _o: self._closed(link, generation, reason), None)
            conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, self._event, link.host)
        except libvirt.libvirtError as exc:
            link.opening_since = None
            link.failures += 1
            if link.up is not False:
                link.up = False
                self._tell_host(link.host, False, exc.get_error_message() or str(exc))
            if not self._stopping:
                self._later(link)
            return
        link.conn, link.opening_since, link.failures = conn, None, 0
        link.up = True
        self._tell_host(link.host, True, "")

    def _closed(self, link: _Link, generation: int, reason: int) -> None:
        """The close callback (event-loop thread): the host is down; reconnect from the scheduler."""
        if generation != link.generation or link.conn is None:
            return
        dead, link.conn = link.conn, None
        link.up = False
        link.failures += 1
        self._tell_host(link.host, False, _CLOSE.get(reason, "connection lost"))
        if not self._stopping:
            self._pool.submit(_close_quietly, dead)
            self._later(link)

    def _event(self, _conn: Any, dom: Any, event: int, detail: int, host: str) -> None:
        meaning = lifecycle_meaning(event, detail)
        if meaning is None:
            return
        try:
            self._on_domain(host, dom.name(), *meaning)
        except Exception:  # a callback's failure must not stop the event loop for every host
            log.exception("handling an event of %s on %s failed", dom.name(), host)

    def _tell_host(self, host: str, up: bool, reason: str) -> None:
        try:
            self._on_host(host, up, reason)
        except Exception:
            log.exception("handling %s going %s failed", host, "up" if up else "down")

    def _drop(self, link: _Link) -> None:
        conn, link.conn = link.conn, None
        link.generation += 1
        if conn is not None:
            _close_quietly(conn)


def _close_quietly(conn: Any) -> None:
    try:
        conn.close()
    except libvirt.libvirtError:
        pass
