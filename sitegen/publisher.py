"""Republish the site in the background after changes, debounced, never blocking a chat reply.

A burst of changes (a migration, then a start) gives one build once things have been quiet
for `delay` seconds; a change during a build gives one more build after it. The worker is
not a daemon thread, so a one-shot `granja ask` process prints its reply first and then
finishes the pending build before it exits, instead of dropping it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from hypervisor.threads import start_thread

log = logging.getLogger(__name__)


class Publisher:
    """Runs `build` in a worker thread, at most one at a time, `delay` seconds after the last request."""

    def __init__(self, build: Callable[[], object], *, delay: float = 2.0) -> None:
        self._build = build
        self.delay = delay  # seconds of quiet before a build; settable, e.g. by tests
        self._cond = threading.Condition()
        self._due: float | None = None  # when the next build may start; None: none wanted
        self._worker: threading.Thread | None = None
        self.builds = 0  # builds finished (successfully or not), for tests and logs

    def request(self, *_reason: object) -> None:
        """Ask for a build; returns at once. Fits Engine.on_change (the Reply is ignored)."""
        with self._cond:
            self._due = time.monotonic() + self.delay
            if self._worker is None:
                self._worker = start_thread(self._run, name="site-publisher", daemon=False)
            self._cond.notify_all()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until no build is wanted or running; False if `timeout` passed first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._worker is not None:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def _run(self) -> None:
        while self._next():
            try:
                self._build()
            except Exception:  # the change is done and recorded; a failed publish is only logged
                log.exception("republishing the site failed")
            with self._cond:
                self.builds += 1

    def _next(self) -> bool:
        """Sleep until the quiet period ends; False (and the worker retires) if nothing is wanted."""
        with self._cond:
            while self._due is not None and (left := self._due - time.monotonic()) > 0:
                self._cond.wait(left)
            if self._due is None:
                self._worker = None
                self._cond.notify_all()
                return False
            self._due = None
            return True
