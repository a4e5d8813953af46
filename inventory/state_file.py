"""Small state files a long-running granja keeps across restarts: one JSON document each, replaced whole.

`save` writes a temporary file of its own beside the real one, fsyncs it, renames it over the file
and fsyncs the directory: a process killed at any moment leaves the old document or the new one,
never half of one, and two writers (threads or processes) never write into the same file — the
last rename wins, whole. `load` reads the document back into its type. What these files hold is
remembered, not precious (the watcher's alerts, the ids of Slack messages): a missing file is a
first start, and one that cannot be read is moved aside to NAME.bad with one log line, and the
caller starts without it rather than not at all.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from contextlib import suppress
from pathlib import Path
from typing import Generic, TypeVar

import msgspec

from inventory.storage import fsync_dir

log = logging.getLogger("granja.state")
T = TypeVar("T")
_TMP = ".tmp"


class StateFile(Generic[T]):
    """One document of type `kind` at `path`; `what` names its content in the log ("remembered alerts")."""

    def __init__(self, path: Path, kind: type[T], *, what: str) -> None:
        self.path, self.kind, self.what = path, kind, what
        self._lock = threading.Lock()
        self._failing = False

    def load(self) -> T | None:
        """The document; None if there is none, or (logged, moved aside) if it cannot be read."""
        for leftover in self.path.parent.glob(f".{self.path.name}.*{_TMP}"):  # a killed writer's
            with suppress(OSError):
                leftover.unlink()
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("%s cannot be read (%s); starting without the %s it held", self.path,
                        exc.strerror, self.what)
            return None
        try:
            return msgspec.json.decode(raw, type=self.kind)
        except msgspec.DecodeError as exc:  # ValidationError included: valid JSON of the wrong shape
            aside = self.path.with_name(self.path.name + ".bad")
            with suppress(OSError):
                os.replace(self.path, aside)
            problem = "it is empty" if not raw.strip() else str(exc)
            log.warning("%s is damaged (%s): moved aside to %s; starting without the %s it held",
                        self.path, problem, aside.name, self.what)
            return None

    def save(self, value: T) -> bool:
        """Replace the document with `value`, atomically; False (logged once) if it could not be written."""
        data = msgspec.json.encode(value)
        with self._lock:
            try:
                write_atomically(self.path, data)
            except OSError as exc:
                if not self._failing:
                    log.warning("%s cannot be written (%s): the %s will not survive a restart until it "
                                "can", self.path, exc.strerror or exc, self.what)
                self._failing = True
                return False
            if self._failing:
                log.warning("%s is written again", self.path)
            self._failing = False
            return True


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, fsync it, rename it over `path`, fsync the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=_TMP)
    try:
        with open(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)

