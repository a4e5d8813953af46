"""What /proc says of a process's threads: which signals each blocks, and whether one sleeps in poll/select.

Tests use it to look at a thread as the kernel sees it: a signal routed to a worker, a prompt
waiting for a key, an idle server loop that must sleep rather than spin.
"""

from __future__ import annotations

# Where the kernel shows a thread asleep in poll(), ppoll() or select() (/proc/.../wchan).
POLL_SLEEPS = ("poll_schedule_timeout", "do_select", "do_poll")


def blocked_signals(pid: int, tid: int) -> int | None:
    """The thread's blocked-signal mask; None if the thread has ended meanwhile."""
    try:
        with open(f"/proc/{pid}/task/{tid}/status") as status:
            for line in status:
                if line.startswith("SigBlk:"):
                    return int(line.split()[1], 16)
    except (FileNotFoundError, ProcessLookupError):
        return None
    raise AssertionError(f"no SigBlk in /proc/{pid}/task/{tid}/status")


def sleeps_in_poll(pid: int, tid: int) -> bool:
    """Whether the thread is asleep in poll() or select() right now."""
    with open(f"/proc/{pid}/task/{tid}/wchan") as wchan:
        return wchan.read().startswith(POLL_SLEEPS)
