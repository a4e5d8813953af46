"""Progress of a long libvirt job (a migration) in words, sampled once a second.

QEMU reports a bounded job with data remaining and a transfer rate; libvirt's
Xen driver reports an unbounded job with only the time elapsed. The watcher
takes a function returning libvirt's job statistics, so it needs no libvirt
itself.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from hypervisor.interface import Progress

MIB = 2**20
JobStats = Callable[[], "dict[str, Any] | None"]  # None when the statistics cannot be read now


def describe_job(stats: dict[str, Any], elapsed: float) -> str | None:
    """One progress line from libvirt job statistics, or None when no job runs yet."""
    if not stats or not stats.get("type"):
        return None
    seconds = stats.get("time_elapsed", elapsed * 1000) / 1000
    remaining = stats.get("data_remaining")
    if remaining is None:
        return f"migrating, {seconds:.0f} s elapsed"
    total = stats.get("data_total")
    left = f"{remaining / MIB:.0f} MiB" + (f" of {total / MIB:.0f} MiB" if total else "")
    rate = stats.get("memory_bps")
    speed = f" at {rate / MIB:.1f} MiB/s" if rate else ""
    return f"migrating, {left} left{speed}, {seconds:.0f} s elapsed"


class JobWatcher(threading.Thread):
    """Reports a job's progress through `progress` every `interval` seconds until stopped."""

    def __init__(self, read: JobStats, progress: Progress, *, interval: float = 1.0) -> None:
        super().__init__(daemon=True, name="job-progress")
        self._read = read
        self._progress = progress
        self._interval = interval
        self._stop_event = threading.Event()

    def stop(self) -> None:
        """Stop reporting; the thread ends within one interval."""
        self._stop_event.set()

    def run(self) -> None:
        """Sample the job statistics and report each line that describes a running job."""
        begun = time.monotonic()
        while not self._stop_event.wait(self._interval):
            stats = self._read()
            line = describe_job(stats or {}, time.monotonic() - begun)
            if line is not None and not self._stop_event.is_set():
                self._progress(line)
