"""The audit trail: one entry per chat command, in monthly JSON-lines files beside the inventory.

It has its own files and locks so recording a command never waits behind a long refresh.
Each month is a file of its own (audit/2026-11.jsonl) that entries are only ever appended to
(inventory/append_log.py): recording a command costs one line and one fdatasync however many
entries the month holds, and old months can be archived by moving files. Entries are written
once, when the command has ended, and never changed afterwards.

Months written before (audit/2026-11.json, one TinyDB file rewritten at every entry) are still
read, beside the month's .jsonl if both exist: nothing is converted, so a granja still on the
old code and one on the new can share a state folder during an upgrade without losing entries.
A line that is not a whole entry (cut short by a killed writer, or damaged) is skipped and
named in `damage()`, with its file and line; the rest of the month is read as usual.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime
from functools import cached_property
from pathlib import Path

from inventory import codec
from inventory.append_log import AppendLog
from inventory.codec import Doc
from inventory.errors import InventoryCorrupt
from inventory.records import AuditEntry, short_id
from inventory.storage import AtomicJSONStorage

TABLE = "audit"  # the TinyDB table of months written before the JSON-lines files
LINES, LEGACY = ".jsonl", ".json"


class AuditLog:
    """Append-only log of AuditEntry values across monthly files, read newest first."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._months: dict[str, _Month] = {}

    def record(self, entry: AuditEntry) -> AuditEntry:
        """Append an entry to its month's file; return what was stored (with its id)."""
        return self._month(f"{codec.utc(entry.at):%Y-%m}").record(entry)

    def record_many(self, entries: list[AuditEntry]) -> None:
        """Append entries, each month's in one write."""
        by_month: dict[str, list[AuditEntry]] = {}
        for entry in entries:
            by_month.setdefault(f"{codec.utc(entry.at):%Y-%m}", []).append(entry)
        for month, batch in by_month.items():
            self._month(month).record(*batch)

    def entries(self, *, vm: str | None = None, limit: int = 20) -> list[AuditEntry]:
        """Newest entries first, of one VM or of all, reading back only as many months as needed."""
        found: list[AuditEntry] = []
        for month in self._month_names():
            if len(found) >= limit:
                break
            found += self._month(month).entries(vm=vm, limit=limit - len(found))
        return found

    def matching(self, keep: Callable[[AuditEntry], bool], *, limit: int = 20,
                 since: datetime | None = None) -> list[AuditEntry]:
        """Newest entries first that `keep` accepts, none older than `since`.

        Months older than `since` are never read; within a month the walk stops at the first
        entry older than `since`, or once `limit` entries are found.
        """
        found: list[AuditEntry] = []
        oldest = f"{codec.utc(since):%Y-%m}" if since is not None else ""
        for month in self._month_names():
            if month < oldest or len(found) >= limit:
                break
            for entry in self._month(month).walk():
                if since is not None and entry.at < since:
                    return found
                if keep(entry):
                    found.append(entry)
                    if len(found) >= limit:
                        return found
        return found

    def damage(self) -> list[str]:
        """What the months read so far had to skip (lines, a damaged old file), one sentence each."""
        return [problem for name in sorted(self._months) for problem in self._months[name].damage()]

    def close(self) -> None:
        """Release every month's file descriptors."""
        for month in self._months.values():
            month.close()

    def _month_names(self) -> list[str]:
        """Every month with a file, newest first."""
        names = {path.name.removesuffix(suffix) for suffix in (LINES, LEGACY)
                 for path in self.directory.glob(f"*{suffix}")}
        return sorted(names, reverse=True)

    def _month(self, month: str) -> _Month:
        if month not in self._months:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._months[month] = _Month(self.directory, month)
        return self._months[month]


class _Month:
    """One month of the audit log: its JSON-lines file, and the TinyDB file of before if there is one."""

    def __init__(self, directory: Path, month: str) -> None:
        lock = directory / f"{month}.lock"  # the lock the TinyDB file's writers took: one discipline
        self.log = AppendLog(directory / f"{month}{LINES}", lock_path=lock)
        self.legacy = AtomicJSONStorage(directory / f"{month}{LEGACY}", lock_path=lock)
        self._index: _AuditIndex | None = None
        self._legacy_problem = ""
        self._indexing = threading.Lock()  # the bot's threads may ask at once

    def record(self, entry: AuditEntry, *more: AuditEntry) -> AuditEntry:
        """Append entries in one write, each with a fresh short id if it has none; return the first.

        Ids are 48 random bits, unique within the batch; checking the whole month would cost
        reading it (two ids alike among 100,000 entries a month: about 1 chance in 50,000).
        """
        stored: list[AuditEntry] = []
        taken: set[str] = set()
        for each in (entry, *more):
            if not each.id:
                each = _with_id(each, taken)
            taken.add(each.id)
            stored.append(each)
        self.log.append([codec.audit_doc(e) for e in stored])
        return stored[0]

    def entries(self, *, vm: str | None = None, limit: int = 20) -> list[AuditEntry]:
        """Newest entries first, of one VM or of all."""
        index = self._current()
        docs = index.newest_first if vm is None else index.by_vm.get(vm, [])
        found: list[AuditEntry] = []
        for doc in docs:
            if len(found) >= limit:
                break
            if (entry := index.decode(doc)) is not None:
                found.append(entry)
        return found

    def walk(self) -> Iterator[AuditEntry]:
        """Every entry, newest first, decoded as the walk reaches it."""
        index = self._current()
        for doc in index.newest_first:
            if (entry := index.decode(doc)) is not None:
                yield entry

    def damage(self) -> list[str]:
        """Lines skipped and an old file that could not be read, as of the last read."""
        with self._indexing:
            index, view = self._index, self.log.last_read
        if index is None:
            return []
        problems = [self._legacy_problem] if self._legacy_problem else []
        return [*problems, *view.damaged, *([view.torn] if view.torn else []), *index.undecodable]

    def close(self) -> None:
        """Release the files' descriptors."""
        self.log.close()
        self.legacy.close()

    def _current(self) -> _AuditIndex:
        with self._indexing:
            view = self.log.read()
            generation, legacy = self._legacy_docs()
            key = (view.generation, generation)
            if self._index is None or self._index.key != key:
                lines = [(f"{self.log.path}: line {number}", doc) for number, doc in view.lines]
                self._index = _AuditIndex([*legacy, *lines], key, self._index)
            return self._index

    def _legacy_docs(self) -> tuple[int, list[tuple[str, Doc]]]:
        """The old TinyDB file's entries in the order they were inserted; none if there is no such file."""
        if not self.legacy.path.exists():
            self._legacy_problem = ""
            return 0, []
        try:
            generation, data = self.legacy.snapshot()
        except InventoryCorrupt as exc:  # names the newest good copy and the command that restores it
            self._legacy_problem = f"{exc}; its entries are not shown"
            return -1, []
        self._legacy_problem = ""
        table = data.get(TABLE, {})
        return generation, [(f"{self.legacy.path}: document {key}", table[key])
                            for key in sorted(table, key=_number)]


class _AuditIndex:
    """Entries of one version of a month's files, sorted newest first and grouped by VM."""

    def __init__(self, docs: list[tuple[str, Doc]], key: tuple[int, int], before: _AuditIndex | None) -> None:
        self.key = key
        self._docs = [doc for _, doc in docs]  # in the order they were written
        self._where = {id(doc): where for where, doc in docs}  # "FILE: line N", for what is wrong
        self.undecodable: list[str] = []
        # Entries the index before had decoded, for the documents still here (after an append: all).
        # Each is kept with its document, so an id() is never that of another document.
        here = {id(doc): doc for doc in self._docs}
        kept = before._decoded if before is not None else {}
        self._decoded: dict[int, tuple[Doc, AuditEntry]] = {
            number: pair for number, pair in kept.items() if here.get(number) is pair[0]}

    @cached_property
    def newest_first(self) -> list[Doc]:
        """Every entry's document, newest first (ties: the later written first)."""
        keyed = sorted(enumerate(self._docs), key=lambda pair: (str(pair[1].get("at", "")), pair[0]))
        return [doc for _, doc in reversed(keyed)]

    @cached_property
    def by_vm(self) -> dict[str, list[Doc]]:
        """VM name -> its entries, newest first; an evacuation names the VMs it moved in extra.vms."""
        out: dict[str, list[Doc]] = {}
        for doc in self.newest_first:
            extra = doc.get("extra")
            moved = str(extra.get("vms", "")) if isinstance(extra, dict) else ""
            names = {str(doc.get("vm") or ""), *moved.split(",")} - {""}
            for name in sorted(names):
                out.setdefault(name, []).append(doc)
        return out

    def decode(self, doc: Doc) -> AuditEntry | None:
        """AuditEntry from a document; None (and a sentence in `undecodable`) if it is not one."""
        known = self._decoded.get(id(doc))
        if known is not None:
            return known[1]
        missing = [name for name in _REQUIRED if name not in doc]
        try:
            if missing:
                raise ValueError(f"no {' or '.join(missing)}")
            entry = codec.audit_record(doc)
            self._decoded[id(doc)] = (doc, entry)
            return entry
        except (TypeError, ValueError) as exc:
            problem = f"{self._where[id(doc)]} is not an audit entry ({exc}); skipped"
            if problem not in self.undecodable:
                self.undecodable.append(problem)
            return None


_REQUIRED = ("at", "user", "text", "outcome")


def _number(key: str) -> int:
    return int(key) if key.isdigit() else -1


def _with_id(entry: AuditEntry, taken: set[str]) -> AuditEntry:
    new_id = short_id()
    while new_id in taken:
        new_id = short_id()
    return replace(entry, id=new_id)
