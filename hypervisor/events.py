"""libvirt's event loop in one daemon thread, and waiting for a domain's lifecycle events.

libvirt delivers domain events (started, stopped, migrated...) only to a
process that registered an event implementation before opening any
connection, and only while something runs that loop. `ensure_event_loop`
does both once per process; `LifecycleWatch` collects one domain's events so
a caller can wait for "stopped" or for evidence of a reboot instead of asking
the host again and again.
The registered loop also turns on libvirt's keepalive for remote
connections, so a dead host is noticed by the connection itself.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import libvirt

from hypervisor.threads import start_thread

_lock = threading.Lock()
_thread: threading.Thread | None = None

STOPPED = libvirt.VIR_DOMAIN_EVENT_STOPPED
STARTED = libvirt.VIR_DOMAIN_EVENT_STARTED
REBOOTED = -1  # not a lifecycle event: libvirt's VIR_DOMAIN_EVENT_ID_REBOOT (the guest was reset)


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
        self._callback_ids: list[int] = []

    def __enter__(self) -> LifecycleWatch:
        self._callback_ids = [
            self._conn.domainEventRegisterAny(self._dom, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                              self._on_event, None),
            self._conn.domainEventRegisterAny(self._dom, libvirt.VIR_DOMAIN_EVENT_ID_REBOOT,
                                              self._on_reboot, None)]
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        for callback_id in self._callback_ids:
            try:
                self._conn.domainEventDeregisterAny(callback_id)
            except libvirt.libvirtError:
                pass  # the connection died with the host; nothing is left to deregister

    def _on_event(self, _conn: Any, _dom: Any, event: int, _detail: int, _opaque: Any) -> None:
        with self._changed:
            self._seen.append(event)
            self._changed.notify_all()

    def _on_reboot(self, _conn: Any, _dom: Any, _opaque: Any) -> None:
        self._on_event(_conn, _dom, REBOOTED, 0, _opaque)

    def wait_for_reboot(self, seconds: float, new_instance: Callable[[], bool]) -> bool:
        """Block until there is evidence the running instance ended, or `seconds` pass; True if there is.

        Evidence: libvirt's REBOOT event (QEMU reports the guest's reset), a stop (Xen's libxl
        destroys a rebooting domain and creates it again; a guest may also just power off, which
        the caller's "running again" check then reports), or `new_instance()` (a new domain ID,
        should those events be missed), asked once a second.
        """
        deadline = time.monotonic() + seconds
        while True:
            with self._changed:
                if REBOOTED in self._seen or STOPPED in self._seen:
                    return True
                left = deadline - time.monotonic()
                if left > 0:
                    self._changed.wait(timeout=min(left, 1.0))
            if new_instance():  # outside the lock: it asks the host, and events must still come in
                return True
            if left <= 0:
                return False

    def wait_for(self, event: int, seconds: float) -> bool:
        """Block until the domain reports `event` (e.g. STOPPED), or `seconds` pass; True if it did."""
        with self._changed:
            return self._changed.wait_for(lambda: event in self._seen, timeout=seconds)
