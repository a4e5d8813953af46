"""Host calls with deadlines: one slow or dead host must never hang a command.

libvirt calls block in C and cannot be interrupted, so each call runs on a
daemon worker thread and the caller stops waiting at the deadline. A call
that overruns is abandoned (its thread finishes or dies with the process);
the host is then reported as timed out. Daemon threads, unlike
concurrent.futures' workers, do not hold up interpreter exit.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from hypervisor.errors import HostTimeout
from hypervisor.threads import start_thread

T = TypeVar("T")


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """What one host call gave: a value or an exception."""

    value: T | None = None
    error: BaseException | None = None


class _Job(Generic[T]):
    def __init__(self, key: str, call: Callable[[], T]) -> None:
        self.key = key
        self.call = call
        self.done = threading.Event()
        self.outcome: Outcome[T] = Outcome()

    def run(self) -> None:
        try:
            self.outcome = Outcome(value=self.call())
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller
            self.outcome = Outcome(error=exc)
        self.done.set()


def call_with_deadline(host: str, call: Callable[[], T], seconds: float) -> T:
    """Run `call` for `host`, raising HostTimeout if it takes longer than `seconds`."""
    job = _Job(host, call)
    start_thread(job.run, name=f"host-{host}")
    if not job.done.wait(seconds):
        raise HostTimeout(host, seconds)
    if job.outcome.error is not None:
        raise job.outcome.error
    return job.outcome.value  # type: ignore[return-value]


def call_all(
    calls: Mapping[str, Callable[[], T]] | Iterable[tuple[str, Callable[[], T]]],
    *,
    seconds: float,
    workers: int,
) -> dict[str, Outcome[T]]:
    """Run one call per host on at most `workers` threads; each host gets `seconds`.

    A host's clock starts when a worker picks its call up, so a large farm is
    not penalised for queueing. Hosts still unanswered when their time is up
    get a HostTimeout outcome; their workers are abandoned and replaced.
    """
    items = list(calls.items() if isinstance(calls, Mapping) else calls)
    pending: queue.SimpleQueue[_Job[T]] = queue.SimpleQueue()
    jobs = [_Job(key, call) for key, call in items]
    for job in jobs:
        pending.put(job)
    started: dict[str, float] = {}
    lock = threading.Lock()

    def worker() -> None:
        while True:
            try:
                job = pending.get_nowait()
            except queue.Empty:
                return
            with lock:
                started[job.key] = time.monotonic()
            job.run()

    for i in range(max(1, min(workers, len(jobs)))):
        start_thread(worker, name=f"hosts-{i}")
    return _collect(jobs, started, lock, seconds, spawn=worker)


def _collect(
    jobs: list[_Job[T]],
    started: dict[str, float],
    lock: threading.Lock,
    seconds: float,
    *,
    spawn: Callable[[], None],
) -> dict[str, Outcome[T]]:
    results: dict[str, Outcome[T]] = {}
    for job in jobs:
        while not job.done.wait(0.05):
            with lock:
                begun = started.get(job.key)
            if begun is not None and time.monotonic() - begun > seconds:
                results[job.key] = Outcome(error=HostTimeout(job.key, seconds))
                # The stuck worker keeps its thread; give the queue a fresh one.
                start_thread(spawn, name="hosts-spare")
                break
        else:
            results[job.key] = job.outcome
    return results
