"""A deterministic kill harness for tests: stop this process at its Nth mutating step.

Every change to a simulated host (before it and after it is written) and every journal write is a
step. With GRANJA_CRASH_AT=N the process ends at its Nth step at once, as `kill -9` would (os._exit:
no cleanup, nothing flushed); with GRANJA_SIGNAL_AT=N:INT (or N:TERM, N:HUP, N:STOP to hold the
process there for a test to act; several as N:INT,M:INT) it
sends itself that signal there instead, so the front end's real handler runs; sent from a worker
thread, the step waits until that handler has acted (it calls `handled()`), as a person's Ctrl-C is
seen before the next step. GRANJA_CRASH_LOG=FILE appends one line per step ("N what"), which tells
a test how many steps an operation has. Unset, as outside tests, a step costs one dictionary lookup.
A step given `only_with` (the appends of the audit trail, inventory/append_log.py) counts only while
that variable is set as well, so that the farm commands' step counts stay theirs.
"""

from __future__ import annotations

import os
import signal
import threading

_lock = threading.Lock()
_count = 0
_handled = threading.Event()
HANDLER_DEADLINE = 10.0  # seconds a step waits for the front end's handler before going on


def reached(what: str, *, only_with: str = "") -> None:
    """Count one mutating step; crash, signal or log here when the environment says so."""
    global _count
    if only_with and not os.environ.get(only_with):
        return
    crash, send, log = (os.environ.get(k, "") for k in
                        ("GRANJA_CRASH_AT", "GRANJA_SIGNAL_AT", "GRANJA_CRASH_LOG"))
    if not (crash or send or log):
        return
    with _lock:
        _count += 1
        number = _count
    if log:
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(f"{number} {what}\n")
    if crash and int(crash) == number:
        os._exit(137)
    for one in filter(None, send.split(",")):
        at, _, name = one.partition(":")
        if int(at) == number:
            _handled.clear()
            main = threading.main_thread()
            # To the main thread, where the kernel routes it (granja's other threads block it), so
            # that a wait of the main thread is interrupted at once and its handler runs.
            signal.pthread_kill(main.ident or 0, getattr(signal, f"SIG{name or 'INT'}"))
            if threading.current_thread() is not main:
                _handled.wait(HANDLER_DEADLINE)


def handled() -> None:
    """Called by a front end's signal handler once it has acted; a step that sent the signal goes on."""
    _handled.set()
