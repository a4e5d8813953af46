"""Send a signal the way the kernel may route it: to a thread other than the main one.

A signal sent to a process goes to any one of its threads that does not block it; the kernel
prefers the main thread, but not always (under load, or while the main thread has a signal
pending). Python runs the handler only in the main thread, so a program must cope with the
signal landing on a worker. These helpers make that case deterministic for a test.
"""

from __future__ import annotations

import ctypes
import errno
import os
import signal

from tests.proc_threads import blocked_signals

_libc = ctypes.CDLL(None, use_errno=True)


def takers(pid: int, number: signal.Signals) -> list[int]:
    """The process's threads other than the main one that would take `number` (do not block it)."""
    bit = 1 << (number - 1)
    found = []
    for tid in map(int, os.listdir(f"/proc/{pid}/task")):
        blocked = blocked_signals(pid, tid) if tid != pid else None
        if blocked is not None and not blocked & bit:
            found.append(tid)
    return found


def send_off_main(pid: int, number: signal.Signals) -> str:
    """Deliver `number` to a worker thread if one takes it, else to the process (the main thread).

    Returns where it went, for the assertion messages. A worker that ends just before the signal
    (threads come and go) is passed over for the next.
    """
    for tid in takers(pid, number):
        if _libc.tgkill(pid, tid, int(number)) == 0:  # glibc 2.30+: a signal to one thread
            return f"thread {tid} of {pid}"
        if ctypes.get_errno() != errno.ESRCH:
            raise OSError(ctypes.get_errno(), f"tgkill({pid}, {tid}, {number.name})")
    os.kill(pid, number)
    return "the process (no other thread takes it)"
