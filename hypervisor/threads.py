"""Background threads that leave SIGINT, SIGTERM and SIGHUP to the main thread, and waits a signal can end.

Python runs a signal's handler only in the main thread, between bytecodes. The kernel hands a
signal sent to the process to any one thread that does not block it: usually the main thread,
but not always (under load, or while the main thread has a signal pending). When a worker gets
it while the main thread sleeps in a lock, a terminal read or a poll, the handler waits until
the main thread wakes for another reason: Ctrl-C at `granja chat`'s prompt did nothing until
the next key, and `granja slack` did not stop at all. So:

- every thread granja starts blocks these signals (`start_thread`, or `signals_left_to_main` around
  a library that starts its own), so the kernel delivers them to the main thread;
- the main thread waits for a stop in slices (`wait_in_slices`), which also covers threads that
  some library starts later, out of our hands.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM, signal.SIGHUP})  # HUP: a terminal hung up
SLICE_SECONDS = 0.2  # how late, at most, the main thread notices a signal a worker received


@contextmanager
def signals_left_to_main() -> Iterator[None]:
    """Threads started inside this block (by granja or by a library) block the STOP_SIGNALS.

    A new thread inherits the mask of the thread that starts it; the caller's own mask is
    restored on leaving, and a signal that came meanwhile is delivered then.
    """
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def start_thread(target: Callable[[], object], *, name: str, daemon: bool = True) -> threading.Thread:
    """Start `target` in a thread of its own that leaves the STOP_SIGNALS to the main thread."""
    thread = threading.Thread(target=target, name=name, daemon=daemon)
    with signals_left_to_main():
        thread.start()
    return thread


def wait_in_slices(event: threading.Event) -> None:
    """Wait until `event` is set, waking every slice so the main thread runs pending signal handlers."""
    while not event.wait(SLICE_SECONDS):
        pass
