"""A JSON-lines file that writers only ever append to, and readers read from where they stopped.

Writing one record costs one line, however long the file: a writer takes the `flock` on the
lock file beside it, appends its lines with one O_APPEND write, fdatasyncs and lets go. Nothing
already in the file is ever rewritten, so a writer killed at any moment can cost at most the
lines it was writing: every earlier line stays as it was. If such a writer left its last line
cut short (no end of line), the next writer ends that line first, so its own lines start on a
line of their own.

Readers never lock while the file ends in a whole line: they stat it and parse only the bytes
added since they last looked (a file replaced or shortened is read again from the start). A
reader that finds the file ending in the middle of a line waits for the writers' lock once:
afterwards a line still unfinished was cut short by a writer that died, and is reported as such
rather than taken for one being written. A line that is not a JSON object is skipped and
reported with its number; it costs that one line only.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypervisor import crashpoint
from inventory.storage import fsync_dir

Doc = dict[str, Any]
CRASH_SWITCH = "GRANJA_CRASH_APPENDS"  # counts the appends' steps for hypervisor/crashpoint.py

# The standard library's json, as inventory.storage uses: msgspec's import would add 9 ms to every command.
_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, check_circular=False).encode


@dataclass
class LogView:
    """What a reader has of the file: its records in file order, each with its line number."""

    generation: int = 0  # changes whenever `lines` or `torn` does
    lines: list[tuple[int, Doc]] = field(default_factory=list)
    damaged: list[str] = field(default_factory=list)  # one sentence per skipped line, kept
    torn: str = ""  # the file ends in a line cut short (as of the last read), in one sentence


class AppendLog:
    """One JSON-lines file: `append` records under the lock, `read` what is there now."""

    def __init__(self, path: Path, *, lock_path: Path) -> None:
        self.path, self.lock_path = path, lock_path
        self._lock_fd: int | None = None
        # flock belongs to the open file, not the thread: threads sharing this object take turns
        # here first, or one thread's shared lock would turn another's exclusive one into it.
        self._threads = threading.Lock()
        self._reading = threading.Lock()  # one thread at a time brings the view up to date
        self._view = LogView()
        self._identity: tuple[int, int] | None = None  # (st_dev, st_ino) of the file we read
        self._offset = 0  # bytes read, up to the end of the last whole line
        self._count = 0  # whole lines read

    def append(self, docs: Sequence[Doc]) -> None:
        """Append one line per document, durably, in one write; raises OSError if it could not."""
        data = b"".join(_encode(doc).encode() + b"\n" for doc in docs)
        if not data:
            return
        with self._locked(fcntl.LOCK_EX):
            fd, created = _open_for_append(self.path)
            try:
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    data = b"\n" + data  # a killed writer's unfinished line: ours must not join it
                crashpoint.reached(f"append {self.path.name}: before write", only_with=CRASH_SWITCH)
                try:
                    _write_all(fd, data)
                except BaseException:
                    os.ftruncate(fd, size)  # a short write (disk full) leaves no half line behind
                    raise
                crashpoint.reached(f"append {self.path.name}: written", only_with=CRASH_SWITCH)
                os.fdatasync(fd)
                if created:
                    fsync_dir(self.path.parent)
                crashpoint.reached(f"append {self.path.name}: synced", only_with=CRASH_SWITCH)
            finally:
                os.close(fd)

    def read(self) -> LogView:
        """The records as the file holds them now; only bytes added since the last read are parsed.

        The view returned is this object's own, brought up to date in place by later reads.
        """
        with self._reading:
            return self._read()

    def _read(self) -> LogView:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            if self._identity is not None or self._view.lines or self._view.torn:
                self._reset(None)
            return self._view
        if (st.st_dev, st.st_ino) != self._identity or st.st_size < self._offset:
            self._reset((st.st_dev, st.st_ino))
        if st.st_size == self._offset and not self._view.torn:
            return self._view
        chunk = self._tail()
        if not chunk.endswith(b"\n"):  # being written now, or cut short: ask once the writers are done
            with self._locked(fcntl.LOCK_SH, waiting=False):
                chunk = self._tail()
        self._take(chunk)
        return self._view

    @property
    def last_read(self) -> LogView:
        """The view as of the last `read`, not read again."""
        return self._view

    def close(self) -> None:
        """Release the lock file's descriptor."""
        with self._threads:
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None

    def _tail(self) -> bytes:
        try:
            with open(self.path, "rb") as stream:
                stream.seek(self._offset)
                return stream.read()
        except FileNotFoundError:
            return b""

    def _take(self, chunk: bytes) -> None:
        """Parse the whole lines of `chunk` (read at the offset) and note an unfinished last one."""
        whole, _, rest = chunk.rpartition(b"\n")
        view = self._view
        if whole or chunk.startswith(b"\n"):
            raws = whole.split(b"\n")
            docs = _all_objects(raws)
            if docs is not None:  # the usual case: every line whole, parsed in one call
                view.lines += enumerate(docs, start=self._count + 1)
                self._count += len(raws)
            else:
                for raw in raws:
                    self._count += 1
                    if not raw.strip():
                        continue  # the end of line a writer put after a line cut short
                    problem, doc = _parsed(raw)
                    if doc is None:
                        view.damaged.append(f"{self.path}: line {self._count} is not a whole record "
                                            f"({problem}); skipped")
                    else:
                        view.lines.append((self._count, doc))
            self._offset += len(whole) + 1
        torn = (f"{self.path}: its last line (line {self._count + 1}) was cut short, as a writer killed "
                f"mid-write leaves it; skipped (the lines before it are whole)") if rest else ""
        view.torn = torn
        view.generation += 1

    def _reset(self, identity: tuple[int, int] | None) -> None:
        self._view = LogView(generation=self._view.generation + 1)
        self._identity, self._offset, self._count = identity, 0, 0

    @contextmanager
    def _locked(self, how: int, *, waiting: bool = True) -> Iterator[None]:
        """Hold the writers' lock (`how`: exclusive to write, shared to read a stable end).

        With `waiting` False, a lock file this process may not open (a reader without write access
        to the folder) means reading without it: an unfinished last line is then reported as cut
        short even if a writer was still adding to it.
        """
        with self._threads:
            if self._lock_fd is None:
                try:
                    self.lock_path.parent.mkdir(parents=True, exist_ok=True)
                    self._lock_fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o640)
                except OSError:
                    if waiting:
                        raise
                    yield
                    return
            fcntl.flock(self._lock_fd, how)
            try:
                yield
            finally:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)


def _open_for_append(path: Path) -> tuple[int, bool]:
    """An O_APPEND descriptor on `path`, and whether this call created the file."""
    flags = os.O_RDWR | os.O_APPEND | os.O_CLOEXEC | os.O_NOFOLLOW  # read: does it end a line?
    try:
        return os.open(path, flags), False
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, flags | os.O_CREAT, 0o640), True


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _all_objects(raws: list[bytes]) -> list[Doc] | None:
    """Every line as a JSON object, parsed as one array; None if any line is not one object."""
    if any(not raw.strip() for raw in raws):
        return None
    try:
        docs = json.loads(b"[" + b",".join(raws) + b"]")
    except ValueError:  # JSONDecodeError and UnicodeDecodeError: look line by line
        return None
    if len(docs) != len(raws) or not all(isinstance(doc, dict) for doc in docs):
        return None
    return docs  # type: ignore[no-any-return]


def _parsed(raw: bytes) -> tuple[str, Doc | None]:
    """(problem, None) for a line that is not a JSON object, else ("", the object)."""
    try:
        doc = json.loads(raw)
    except UnicodeDecodeError as exc:
        return f"not UTF-8 text: {exc.reason} at byte {exc.start}", None
    except json.JSONDecodeError as exc:
        return f"not valid JSON: {exc.msg} (column {exc.colno})", None
    if not isinstance(doc, dict):
        return f"a JSON {type(doc).__name__}, not an object", None
    return "", doc
