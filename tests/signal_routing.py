"""Send a signal the way the kernel may route it: to a thread other than the main one.

A signal sent to a process goes to any one of its threads that does not block it; the kernel
prefers the main thread, but not always (under load, or while the main thread has a signal
pending). Python runs the handler only in the main thread, so a program must cope with the
signal landing on a worker. These helpers make that case deterministic for a test.
"""

from __future__ import annotations

import ctypes
import os
import signal

_libc = ctypes.CDLL(None, use_errno=True)


def _blocked(pid: int, tid: int) -> int:
    """The thread's blocked-signal mask, from /proc."""
    with open(f"/proc/{pid}/task/{tid}/status") as status:
        for line in status:
            if line.startswith("SigBlk:"):
                return int(line.split()[1], 16)
    raise AssertionError(f"no SigBlk in /proc/{pid}/task/{tid}/status")


def takers(pid: int, number: signal.Signals) -> list[int]:
    """The process's threads other than the main one that would take `number` (do not block it)."""
    bit = 1 << (number - 1)
    return [tid for tid in map(int, os.listdir(f"/proc/{pid}/task"))
            if tid != pid and not _blocked(pid, tid) & bit]


def send_off_main(pid: int, number: signal.Signals) -> str:
    """Deliver `number` to a worker thread if one takes it, else to the process (the main thread).

    Returns where it went, for the assertion messages.
    """
    candidates = takers(pid, number)
    if not candidates:
        os.kill(pid, number)
        return "the process (no other thread takes it)"
    if _libc.tgkill(pid, candidates[0], int(number)) != 0:  # glibc 2.30+: a signal to one thread
        raise OSError(ctypes.get_errno(), f"tgkill({pid}, {candidates[0]}, {number.name})")
    return f"thread {candidates[0]} of {pid}"
