"""Which VMs have an operation running, and whose: a second operation on one of them is refused.

Held in this process and, through a lock file per VM in the state
directory (`locks/NAME.lock`, flock), across processes: the Slack bot and a
`granja ask … --yes` on the console never work on one VM at once. The file
says who holds it, so the refusal can name them; the kernel drops the lock
if the holding process dies, so a crash never leaves a VM locked. A lock
that cannot be taken whole (its file cannot be created or written: a full
disk) is given back at once and raises `LockFailed`; `hold_all` gives back
the names it took before. A command on a whole host (evacuate, recover,
maintenance) holds the host under `host_key(NAME)`, besides every VM it
moves, and a change that puts a VM on a host holds that host too.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

_HOST = "host:"  # VM names cannot hold a colon: a host's key never meets a VM's


def host_key(host: str) -> str:
    """The key under which a command on a whole host holds it."""
    return _HOST + host


def is_host_key(name: str) -> bool:
    """Whether a held name is a host's key rather than a VM's name."""
    return name.startswith(_HOST)


class LockFailed(Exception):
    """A lock that could not be taken or read because its file failed (disk full, I/O error)."""

    def __init__(self, name: str, error: OSError) -> None:
        self.name = name
        reason = error.strerror or str(error)
        where = f"{error.filename}: " if error.filename else ""
        super().__init__(f"Could not take the lock of {name.removeprefix(_HOST)} ({where}{reason}).")


@dataclass(frozen=True)
class Holder:
    """Who runs an operation on a VM, and since when (seconds since the epoch)."""

    who: str
    what: str
    since: float


class Busy:
    """The VMs with an operation running, in this process and (given a directory) in any other."""

    def __init__(self, directory: Path | None = None, clock: Callable[[], float] = time.time) -> None:
        self.directory = directory
        self._clock = clock
        self._held: dict[str, tuple[Holder, int | None]] = {}
        self._lock = threading.Lock()

    def hold(self, vm: str, *, who: str, what: str) -> Holder | None:
        """Take the VM for an operation; returns the current holder instead if it is taken."""
        key = vm.lower()
        with self._lock:
            if key in self._held:
                return self._held[key][0]
            holder = Holder(who=who, what=what, since=self._clock())
            fd = None
            if self.directory is not None:
                fd, other = self._lock_file(vm)
                if other is not None:
                    return other
                try:
                    os.ftruncate(fd, 0)
                    self._write(fd, json.dumps(holder.__dict__).encode())
                except OSError as exc:  # a flock kept after this would hold the VM until the process ends
                    self._unlock(fd)
                    raise LockFailed(vm, _named(exc, self._path(key))) from exc
            self._held[key] = (holder, fd)
            return None

    def hold_all(self, names: Sequence[str], *, who: str, what: str) -> tuple[str, Holder] | None:
        """Take every name, or none: returns the first one taken by someone else, and its holder.

        Raises LockFailed (after giving back the names already taken) when a lock file fails.
        """
        taken: list[str] = []
        try:
            for name in names:
                other = self.hold(name, who=who, what=what)
                if other is not None:
                    self.release_all(taken)
                    return name, other
                taken.append(name)
        except BaseException:
            self.release_all(taken)
            raise
        return None

    def release_all(self, names: Sequence[str]) -> None:
        """The operation on all these names has ended; each is released even if another one fails."""
        for name in names:
            self.release(name)

    def holder(self, vm: str) -> Holder | None:
        """Who runs an operation on the VM now, if anyone."""
        key = vm.lower()
        with self._lock:
            if key in self._held:
                return self._held[key][0]
            if self.directory is None:
                return None
            fd, other = self._lock_file(vm)
            if other is None:
                self._unlock(fd)
            return other

    def release(self, vm: str) -> None:
        """The operation on the VM has ended."""
        with self._lock:
            _, fd = self._held.pop(vm.lower(), (None, None))
            if fd is not None:
                self._unlock(fd)

    def busy_message(self, vm: str, holder: Holder) -> str:
        """One sentence saying who holds the VM, what they run and for how long."""
        seconds = max(self._clock() - holder.since, 0)
        return (f"{vm.removeprefix(_HOST)} is busy: {holder.who} is running '{holder.what}' "
                f"(for {seconds:.0f} s). Nothing was done; try again when it has finished.")

    def _path(self, key: str) -> Path:
        assert self.directory is not None
        return self.directory / f"{key}.lock"

    def _lock_file(self, name: str) -> tuple[int, Holder | None]:
        """Lock the VM's file: (fd, None) when locked now, (-1, holder) when another process has it.

        Raises LockFailed, holding nothing, when the file cannot be made, opened or read.
        """
        path = self._path(name.lower())
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise LockFailed(name, _named(exc, path)) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                text = os.pread(fd, 4096, 0).decode(errors="replace")
            except OSError:
                text = ""  # unreadable: someone holds it all the same
            finally:
                os.close(fd)
            try:
                return -1, Holder(**json.loads(text))
            except (ValueError, TypeError):  # it is still being written: someone holds it all the same
                return -1, Holder(who="another granja process", what="an operation", since=self._clock())
        except OSError as exc:
            os.close(fd)
            raise LockFailed(name, _named(exc, path)) from exc
        return fd, None

    @staticmethod
    def _write(fd: int, data: bytes) -> None:
        """Write who holds the lock into its file (a short write on a full disk fails as ENOSPC)."""
        if os.pwrite(fd, data, 0) != len(data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    @staticmethod
    def _unlock(fd: int) -> None:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        with contextlib.suppress(OSError):  # closing drops the flock whatever close then reports
            os.close(fd)


def _named(error: OSError, path: Path) -> OSError:
    """The error with the lock file's path, for the message."""
    if error.filename is None:
        error.filename = str(path)
    return error
