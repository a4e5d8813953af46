"""A TinyDB storage that caches what it parsed, writes atomically and locks across processes.

Writers change data only inside `transaction()`: it takes an flock on the lock file, re-reads
the JSON file if another process replaced it, lets any number of TinyDB table operations run
against a private copy of the top-level dict, and writes once at the end. The write goes to a
temporary file in the same directory, is fsynced, renamed over the real file and the directory
fsynced, so a process killed at any moment leaves either the old or the new file, whole.

Before each write the version being replaced is kept as `inventory.json.1`, the one before as
`.2`, and so on to KEEP: a hard link and renames, never a copy, so keeping them costs the same
at 20,000 VMs as at 50. A damaged file (unparseable, empty, or gone while copies remain) is
never read as a fresh start: the error names the file, the newest good copy and the command
that puts it back.

Readers never lock: they stat the file and re-parse it only when its identity changed.
The dict handed out as the current data is never mutated afterwards (TinyDB's insert and
remove build new table dicts), so readers in other threads can keep using it during a write.
"""

from __future__ import annotations

import fcntl
import json
import os
import shlex
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tinydb.storages import Storage

from inventory.errors import InventoryCorrupt

Data = dict[str, dict[str, Any]]
# (st_dev, st_ino, st_mtime_ns, st_size): changes whenever a writer replaces the file.
_Signature = tuple[int, int, int, int]

_TMP_SUFFIX = ".tmp"
KEEP = 3  # earlier versions kept beside the file: NAME.1 (the newest) to NAME.3


class AtomicJSONStorage(Storage):
    """TinyDB storage with a parse cache, one atomic write per transaction and a file lock."""

    def __init__(self, path: str | Path, *, lock_path: str | Path | None = None) -> None:
        self.path = Path(path)
        self.lock_path = Path(lock_path) if lock_path else self.path.with_suffix(".lock")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.parse_count = 0  # how often the file was parsed: the cache's observable effect
        self._data: Data = {}
        self._signature: _Signature | None = None
        self._loaded = False
        self._generation = 0
        # An open descriptor on the file version we cached keeps its inode allocated, so a
        # later file can never reuse that inode number and fool the signature check.
        self._held_fd: int | None = None
        self._lock_fd: int | None = None
        self._cache_lock = threading.Lock()
        self._tx_lock = threading.RLock()
        self._tx_owner: int | None = None
        self._tx_depth = 0
        self._pending: Data | None = None
        self._dirty = False

    def snapshot(self) -> tuple[int, Data]:
        """Return (generation, data) for the file's current content; re-parse only if it changed."""
        with self._cache_lock:
            self._revalidate()
            return self._generation, self._data

    def read(self) -> Data:
        """Return the data TinyDB should see: the pending copy inside our transaction."""
        if self._tx_owner == threading.get_ident() and self._pending is not None:
            return self._pending
        return self.snapshot()[1]

    def write(self, data: Data) -> None:
        """Stage TinyDB's new data; it reaches the disk when the transaction ends."""
        if self._tx_owner != threading.get_ident():
            raise RuntimeError(f"{self.path}: writes must happen inside storage.transaction()")
        self._pending = data
        self._dirty = True

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the file lock and batch every write inside the block into one atomic write."""
        with self._tx_lock:
            if self._tx_depth:  # nested in the same thread: join the outer transaction
                self._tx_depth += 1
                try:
                    yield
                finally:
                    self._tx_depth -= 1
                return
            self._lock_file()
            try:
                self._begin()
                yield
                if self._dirty and self._pending is not None:
                    self._commit(self._pending)
            finally:
                self._tx_owner, self._tx_depth, self._pending = None, 0, None
                self._dirty = False
                self._unlock_file()

    def close(self) -> None:
        """Release the cached file descriptor and the lock file."""
        for fd in (self._held_fd, self._lock_fd):
            if fd is not None:
                os.close(fd)
        self._held_fd = self._lock_fd = None
        self._loaded = False

    def _begin(self) -> None:
        """Start a transaction on fresh data: another process may have written before we locked."""
        self._remove_leftovers()
        with self._cache_lock:
            self._revalidate()
            self._pending = dict(self._data)
        self._dirty = False
        self._tx_owner = threading.get_ident()
        self._tx_depth = 1

    def _revalidate(self) -> None:
        """Reload the cache if the file was replaced or edited since we last read it."""
        try:
            signature: _Signature | None = _signature(os.stat(self.path))
        except FileNotFoundError:
            signature = None
        if self._loaded and signature == self._signature:
            return
        if signature is None:
            self._absent()
        else:
            self._load()

    def _absent(self) -> None:
        """No file: a new inventory, unless earlier versions show there was one."""
        if any(path.exists() for path in backups(self.path)):
            raise damaged(self.path, "is missing, though earlier versions are kept beside it")
        self._publish({}, None, None)

    def _load(self) -> None:
        """Parse the file into the cache, or raise InventoryCorrupt naming what is wrong."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            self._absent()
            return
        try:
            with open(fd, "rb", closefd=False) as stream:
                raw = stream.read()
            data = _parse(raw)
            self.parse_count += 1
        except InventoryCorrupt as exc:
            os.close(fd)
            raise damaged(self.path, str(exc)) from None
        except BaseException:
            os.close(fd)
            raise
        self._publish(data, _signature(os.fstat(fd)), fd)

    def _publish(self, data: Data, signature: _Signature | None, fd: int | None) -> None:
        """Make `data` the current version (called with the cache lock held)."""
        old_fd = self._held_fd
        self._data, self._signature, self._held_fd = data, signature, fd
        self._loaded = True
        self._generation += 1
        if old_fd is not None:
            os.close(old_fd)

    def _commit(self, data: Data) -> None:
        """Write `data` to a temporary file, fsync it, rename it over the file, fsync the dir."""
        payload = json.dumps(data, separators=(",", ":"), check_circular=False).encode()
        # One writer at a time holds the lock, and _begin removed any leftover: the name is free.
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}{_TMP_SUFFIX}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o640)
        try:
            os.fchmod(fd, 0o640)
            with open(fd, "wb", closefd=False) as stream:
                stream.write(payload)
            os.fsync(fd)
            self._rotate()
            with self._cache_lock:
                os.replace(tmp, self.path)
                self._publish(data, _signature(os.fstat(fd)), fd)
        except BaseException:
            os.close(fd)
            with suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        fsync_dir(self.path.parent)

    def _rotate(self) -> None:
        """Keep the version about to be replaced as NAME.1, shifting older ones down (we hold the lock)."""
        kept = backups(self.path)
        for newer, older in reversed(list(zip(kept, kept[1:], strict=False))):
            with suppress(FileNotFoundError):
                os.replace(newer, older)
        with suppress(FileNotFoundError):
            os.link(self.path, kept[0])

    def _remove_leftovers(self) -> None:
        """Delete temporary files of writers that were killed mid-write (we hold the lock)."""
        for leftover in self.path.parent.glob(f".{self.path.name}.*{_TMP_SUFFIX}"):
            with suppress(FileNotFoundError):
                leftover.unlink()

    def _lock_file(self) -> None:
        if self._lock_fd is None:
            self._lock_fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o640)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)

    def _unlock_file(self) -> None:
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)


def _signature(st: os.stat_result) -> _Signature:
    return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)


def backups(path: Path) -> list[Path]:
    """Where the earlier versions of a file are kept, the newest first."""
    return [path.with_name(f"{path.name}.{number}") for number in range(1, KEEP + 1)]


def damaged(path: Path, problem: str) -> InventoryCorrupt:
    """The error for a damaged file: what is wrong, the newest good copy and how to put it back."""
    for copy in backups(path):
        try:
            _parse(copy.read_bytes())
        except (OSError, InventoryCorrupt):
            continue
        when = datetime.fromtimestamp(copy.stat().st_mtime, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return InventoryCorrupt(f"{path}: {problem}. The newest good copy is {copy} (written {when}); "
                                f"restore it with: cp -p {shlex.quote(str(copy))} {shlex.quote(str(path))}")
    return InventoryCorrupt(f"{path}: {problem}. No good earlier version is kept beside it "
                            f"({path.name}.1 to .{KEEP}): restore it from a backup")


def _parse(raw: bytes) -> Data:
    """Decode the file's bytes and check the TinyDB shape: tables of documents keyed by id."""
    if not raw.strip():
        raise InventoryCorrupt("is empty")  # granja never writes an empty file: something cut it
    try:
        data = json.loads(raw)
    except UnicodeDecodeError as exc:
        raise InventoryCorrupt(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise InventoryCorrupt(f"not valid JSON ({exc.msg} at {where})") from None
    if not isinstance(data, dict):
        raise InventoryCorrupt(f"expected an object of tables, found {type(data).__name__}")
    for name, table in data.items():
        if not isinstance(table, dict):
            raise InventoryCorrupt(f"table {name!r} is {type(table).__name__}, not an object")
        for doc_id, doc in table.items():
            if not isinstance(doc, dict):
                raise InventoryCorrupt(f"table {name!r}, document {doc_id}: not an object")
    return data


def fsync_dir(directory: Path) -> None:
    """Make a rename in `directory` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
