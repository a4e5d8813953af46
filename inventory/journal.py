"""The operation journal: what a change set out to do and how far it got, kept in STATE/journal/.

Before a confirmed change touches a host, granja writes its intent there (command,
who, when, the plan, the VMs and hosts involved) as one JSON file per operation,
and appends each step as it is done; when the change ends, the file is settled
with its outcome. Every write replaces the file atomically (write, fsync, rename),
so a reader sees the file before or after a write, never half of one.

While its change runs, the process holds an exclusive `flock` on the operation's
`.lock` file. The kernel drops that lock when the process dies, however it dies, so
an unsettled journal whose lock can be taken was left by a crashed or killed
process: `orphans()` finds those, and `close()` settles one once it has been
reported. `latest()` gives the newest operation naming a VM (which copy of a VM an interrupted
move had made current is read from its steps). `involved()` tells whether a VM is in the hands
of an operation in progress or settled recently (all the VMs it names, or those it has taken so
far, for a run that takes them a few at a time) (a watcher uses it to tell granja's own changes
from outside events).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

from hypervisor import crashpoint

KEEP_SETTLED = timedelta(days=1)  # settled operations are pruned after this long


@dataclass(frozen=True)
class Operation:
    """One change as the journal holds it."""

    id: str
    command: str
    user: str
    started: datetime
    plan: str
    vms: tuple[str, ...]
    hosts: tuple[str, ...]
    steps: tuple[str, ...] = ()
    outcome: str = ""  # empty while the change runs (or was cut short)
    settled: datetime | None = None
    pid: int = 0
    touched: tuple[str, ...] | None = None  # VMs taken in hand so far; None: it does not say (all `vms`)

    @property
    def in_hand(self) -> tuple[str, ...]:
        """The VMs it may be changing: those it has taken in hand, if it says, else all it names."""
        return self.vms if self.touched is None else self.touched

    @property
    def open(self) -> bool:
        """Whether the operation has not been settled."""
        return not self.outcome


@dataclass
class Running:
    """An operation this process is carrying out, with the lock that says so."""

    operation: Operation
    lock: IO[str] = field(repr=False)
    writing: threading.Lock = field(default_factory=threading.Lock, repr=False)  # progress may come
    # from another thread (a live migration's job watcher)


class Journal:
    """The operations of one state directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @classmethod
    def of_state(cls, state_dir: Path) -> Journal:
        """The journal of a state directory (STATE/journal/)."""
        return cls(state_dir / "journal")

    def begin(self, *, command: str, user: str, plan: str, vms: tuple[str, ...], hosts: tuple[str, ...],
              at: datetime) -> Running:
        """Record a change's intent before it touches anything; raises OSError if it cannot be written."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self._prune(at)
        op_id = f"{at:%Y%m%dT%H%M%S}-{os.urandom(4).hex()}"
        lock = open(self._lock_path(op_id), "a+", encoding="utf-8")  # noqa: SIM115 - held until settled
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            operation = Operation(id=op_id, command=command, user=user, started=at, plan=plan, vms=vms,
                                  hosts=hosts, pid=os.getpid())
            self._write(operation)
        except BaseException:
            lock.close()
            with contextlib.suppress(OSError):
                self._lock_path(op_id).unlink()
            raise
        return Running(operation, lock)

    def step(self, running: Running, text: str, *, taking: tuple[str, ...] | None = None) -> None:
        """Add a step done to a running operation; `taking`: the VMs it takes in hand with it.

        An operation over many VMs taken a few at a time (a rolling run) says so, so that a
        VM it has not reached yet is not taken for one of its own when it changes.
        """
        with running.writing:
            operation = running.operation
            touched = operation.touched
            if taking is not None:
                touched = (*(touched or ()), *(vm for vm in taking if vm not in (touched or ())))
            running.operation = replace(operation, steps=(*operation.steps, text), touched=touched)
            self._write(running.operation)

    def settle(self, running: Running, *, outcome: str, at: datetime) -> None:
        """Record how a running operation ended and release it."""
        with running.writing:
            running.operation = replace(running.operation, outcome=outcome, settled=at)
            try:
                self._write(running.operation)
            finally:
                self._release(running.operation.id, running.lock)

    def carried_out(self, operation: Operation) -> bool:
        """Whether a live process holds the operation's lock (it runs still); a probe, nothing taken."""
        try:
            with open(self._lock_path(operation.id), "r") as lock:  # noqa: UP015 - never created here
                try:
                    fcntl.flock(lock, fcntl.LOCK_SH | fcntl.LOCK_NB)
                except BlockingIOError:
                    return True
                fcntl.flock(lock, fcntl.LOCK_UN)
        except OSError:
            return False  # no lock file: settled, or reported as an orphan
        return False

    def orphans(self) -> list[Operation]:
        """Unsettled operations whose process is gone (crashed, killed), oldest first."""
        found: list[Operation] = []
        self._each_orphan(found.append)
        return found

    def settle_orphans(self, report: Callable[[Operation], None], *, outcome: str, at: datetime) -> int:
        """Hand each orphan to `report`, then settle it; returns how many were settled.

        Its lock is held meanwhile, so each orphan is reported by one process only, once.
        """
        def settle(operation: Operation) -> None:
            report(operation)
            self._write(replace(operation, outcome=outcome, settled=at))
            with contextlib.suppress(OSError):
                self._lock_path(operation.id).unlink()

        return self._each_orphan(settle)

    def _each_orphan(self, handle: Callable[[Operation], None]) -> int:
        count = 0
        for path in sorted(self.directory.glob("*.json")) if self.directory.is_dir() else ():
            operation = _read(path)
            if operation is None or not operation.open:
                continue
            with contextlib.suppress(OSError), open(self._lock_path(operation.id), "a+") as lock:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # its process is still carrying it out, or another is reporting it
                again = _read(path)  # it may have been settled while we looked
                if again is not None and again.open:
                    handle(again)
                    count += 1
        return count

    def involved(self, vm: str, *, now: datetime, within: timedelta) -> Operation | None:
        """The operation `vm` is part of that had begun by `now` and runs still or settled within `within`.

        For telling granja's own changes from outside events: a VM that changed host or state
        while an operation named it (or just after) was changed by granja.
        """
        if not self.directory.is_dir():
            return None
        for path in sorted(self.directory.glob("*.json"), reverse=True):
            operation = _read(path)
            if operation is None or vm not in operation.in_hand:
                continue
            if operation.started > now:
                continue  # begun after the change: it cannot have made it
            if operation.open or (operation.settled is not None and now - operation.settled <= within):
                return operation
        return None

    def latest(self, vm: str) -> Operation | None:
        """The newest operation kept that names `vm` (running, settled or left unfinished), or None."""
        if not self.directory.is_dir():
            return None
        for path in sorted(self.directory.glob("*.json"), reverse=True):
            operation = _read(path)
            if operation is not None and vm in operation.vms:
                return operation
        return None

    def _lock_path(self, op_id: str) -> Path:
        return self.directory / f"{op_id}.lock"

    def _write(self, operation: Operation) -> None:
        crashpoint.reached(f"journal {operation.id} {operation.outcome or 'step'}")
        path = self.directory / f"{operation.id}.json"
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(_doc(operation), handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)

    def _release(self, op_id: str, lock: IO[str]) -> None:
        with contextlib.suppress(OSError):
            self._lock_path(op_id).unlink()
        lock.close()  # closing drops the flock

    def _prune(self, now: datetime) -> None:
        for path in self.directory.glob("*.json"):
            operation = _read(path)
            settled = operation.settled if operation is not None else None
            if settled is not None and now - settled > KEEP_SETTLED:
                with contextlib.suppress(OSError):
                    path.unlink()


def _doc(operation: Operation) -> dict[str, Any]:
    return {"id": operation.id, "command": operation.command, "user": operation.user,
            "started": operation.started.isoformat(), "plan": operation.plan, "vms": list(operation.vms),
            "hosts": list(operation.hosts), "steps": list(operation.steps), "outcome": operation.outcome,
            "settled": operation.settled.isoformat() if operation.settled else None, "pid": operation.pid,
            "touched": list(operation.touched) if operation.touched is not None else None}


def _read(path: Path) -> Operation | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return Operation(id=doc["id"], command=doc["command"], user=doc["user"],
                         started=datetime.fromisoformat(doc["started"]), plan=doc["plan"],
                         vms=tuple(doc["vms"]), hosts=tuple(doc["hosts"]), steps=tuple(doc["steps"]),
                         outcome=doc["outcome"],
                         settled=datetime.fromisoformat(doc["settled"]) if doc["settled"] else None,
                         pid=int(doc.get("pid", 0)),
                         touched=tuple(doc["touched"]) if doc.get("touched") is not None else None)
    except (OSError, ValueError, KeyError, TypeError):
        return None
