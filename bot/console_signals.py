"""The console's signals: Ctrl-C (SIGINT), SIGTERM (`timeout`, systemd) and SIGHUP (the terminal went away).

During a confirmed change any of the three asks it to stop after its current step
(`stopping_on_signals`): the change winds down, its summary is printed and the audit says
`interrupted`. Outside a change, SIGTERM and SIGHUP end the session (`ending_on_signals` raises
`Ended`; Ctrl-C stays KeyboardInterrupt, which the chat's prompt takes as "drop the line").
After a hang-up the terminal is gone and every write to it fails with EIO: `surviving` writers
drop such output instead of raising, so the change, its journal and its audit still settle.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from hypervisor import crashpoint

if TYPE_CHECKING:
    from bot.engine import Engine

STOPPING = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)  # stop a confirmed change after its step
ENDING = (signal.SIGTERM, signal.SIGHUP)  # end the session outside a change


class Ended(BaseException):
    """SIGTERM or SIGHUP came while no change ran: the session ends (as KeyboardInterrupt, not an error)."""

    def __init__(self, signum: int) -> None:
        self.signal = signal.Signals(signum)
        super().__init__(self.signal.name)


@contextlib.contextmanager
def ending_on_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP raise `Ended` in the main thread, once: a later one is ignored while it ends."""
    fired: list[int] = []

    def handle(signum: int, _frame: object) -> None:
        if not fired:
            fired.append(signum)
            raise Ended(signum)

    with _handling(ENDING, handle):
        yield


@contextlib.contextmanager
def stopping_on_signals(engine: Engine, out: Callable[[str], None],
                        heard: list[int] | None = None) -> Iterator[None]:
    """While a change runs, the first signal (INT, TERM or HUP) asks it to stop after its current step.

    Later signals say what it still waits for. Each signal is appended to `heard` (the chat ends
    after SIGTERM or SIGHUP). Outside the main thread (no signals there) this does nothing.
    """
    def handle(signum: int, _frame: object) -> None:
        if heard is not None:
            heard.append(signum)
        if not engine.stopping.is_set():
            engine.stopping.set()
            out("  … stopping: the step in progress finishes (or is undone); no further step starts.")
        else:
            doing = "; ".join(engine.waiting_for()) or "the change to wind down"
            out(f"  … still stopping, waiting for: {doing}")
        crashpoint.handled()

    with _handling(STOPPING, handle):
        yield


@contextlib.contextmanager
def _handling(signals: Iterable[int], handle: Callable[[int, Any], None]) -> Iterator[None]:
    """`handle` for these signals inside the block, the previous handlers after it.

    In the main thread only (Python runs handlers there alone): elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.signal(number, handle) for number in signals}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def surviving(write: Callable[[str], None]) -> Callable[[str], None]:
    """`write`, except that a terminal that has hung up (EIO) is let go instead of raising.

    Standard output and error, where they are that terminal, are pointed at /dev/null, so that
    later writes and Python's flush at exit do not fail either. A closed pipe (EPIPE) still
    raises: the command line ends quietly on it.
    """
    def write_or_drop(line: str) -> None:
        try:
            write(line)
        except OSError as exc:
            if exc.errno != errno.EIO:
                raise
            drop_hung_up_outputs()

    return write_or_drop


def drop_hung_up_outputs() -> None:
    """Point standard output and error at /dev/null where they are a terminal that has hung up."""
    for fd in (1, 2):
        try:
            os.write(fd, b"")  # nothing is written; a hung-up terminal says EIO
        except OSError as exc:
            if exc.errno == errno.EIO:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, fd)
                os.close(devnull)
