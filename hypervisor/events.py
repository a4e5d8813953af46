"""libvirt's event loop in one daemon thread, and waiting for a domain's lifecycle events.

libvirt delivers domain events (started, stopped, migrated...) only to a
process that registered an event implementation before opening any
connection, and only while something runs that loop. `ensure_event_loop`
does both once per process; `LifecycleWatch` collects one domain's events so
a caller can wait for "stopped" instead of asking the host again and again.
The registered loop also turns on libvirt's keepalive for remote
connections, so a dead host is noticed by the connection itself.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any

import libvirt

from hypervisor.threads import start_thread

_lock = threading.Lock()
_thread: threading.Thread | None = None

STOPPED = libvirt.VIR_DOMAIN_EVENT_STOPPED
STARTED = libvirt.VIR_DOMAIN_EVENT_STARTED


def ensure_event_loop() -> None:
    """Register libvirt's default event loop and run it in a daemon thread (once; before any open)."""
    global _thread
    with _lock:
        if _thread is not None:
            return
        libvirt.virEventRegisterDefaultImpl()
        _thread = start_thread(_run, name="libvirt-events")


def _run() -> None:
    while True:
        libvirt.virEventRunDefaultImpl()


class LifecycleWatch:
    """The lifecycle events of one domain, collected from the moment the watch is entered."""

    def __init__(self, conn: Any, dom: Any) -> None:
        self._conn = conn
        self._dom = dom
        self._seen: list[int] = []
        self._changed = threading.Condition()
        self._callback_id: int | None = None

    def __enter__(self) -> LifecycleWatch:
        self._callback_id = self._conn.domainEventRegisterAny(
            self._dom, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, self._on_event, None)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._callback_id is not None:
            try:
                self._conn.domainEventDeregisterAny(self._callback_id)
            except libvirt.libvirtError:
                pass  # the connection died with the host; nothing is left to deregister

    def _on_event(self, _conn: Any, _dom: Any, event: int, _detail: int, _opaque: Any) -> None:
        with self._changed:
            self._seen.append(event)
            self._changed.notify_all()

    def wait_for(self, event: int, seconds: float) -> bool:
        """Block until the domain reports `event` (e.g. STOPPED), or `seconds` pass; True if it did."""
        with self._changed:
            return self._changed.wait_for(lambda: event in self._seen, timeout=seconds)
