"""Bring a folder in line with a set of files, writing only those whose content changed."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SyncResult:
    """What a sync did to the folder."""

    written: int
    unchanged: int
    deleted: int


def sync_files(files: Mapping[str, str | bytes], *, root: Path, prune: Mapping[str, str]) -> SyncResult:
    """Write `files` under `root` where their content differs; delete other files matching `prune`.

    `prune` maps a folder (relative to root) to a glob: files there that are not in `files`
    are left from an earlier build (a VM that is gone) and removed. Files we leave alone
    keep their mtime, so a rebuild of an unchanged farm touches nothing.
    """
    written = unchanged = 0
    for rel, content in files.items():
        data = content.encode() if isinstance(content, str) else content
        path = root / rel
        same = _same_content(path, data)
        if same:
            unchanged += 1
            continue
        if same is None:
            _write_new(path, data)
        else:
            _write_atomic(path, data)
        written += 1
    deleted = 0
    for folder, pattern in prune.items():
        for path in sorted((root / folder).glob(pattern)):
            if path.is_file() and path.relative_to(root).as_posix() not in files:
                path.unlink()
                deleted += 1
    return SyncResult(written=written, unchanged=unchanged, deleted=deleted)


def _same_content(path: Path, data: bytes) -> bool | None:
    """Whether the file holds `data` already; None if there is no such file."""
    try:
        # Comparing sizes first skips reading files that certainly changed.
        return path.stat().st_size == len(data) and path.read_bytes() == data
    except FileNotFoundError:
        return None


def _write_new(path: Path, data: bytes) -> None:
    """Create a file that did not exist: no reader can hold an older copy, so no rename is needed.

    A first build writes thousands of pages, and a temporary file and a rename each would
    double the file-system work. O_EXCL: if the file appeared meanwhile, it is replaced safely.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        _write_atomic(path, data)
        return
    with os.fdopen(fd, "wb") as stream:
        stream.write(data)


def _write_atomic(path: Path, data: bytes) -> None:
    """Write through a temporary file and a rename, so `mkdocs serve` never reads half a page."""
    # Named by process and thread rather than mkstemp's random name: builds of one work folder
    # take turns (sitegen.build's lock), and thousands of pages make each system call count.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
