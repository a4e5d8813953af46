"""The audit trail: one entry per chat command, in monthly TinyDB files beside the inventory.

It has its own files and locks so recording a command never waits behind a long refresh.
Each month is a file of its own (audit/2026-11.json): every write rewrites one file, so
recording a command costs at most one month of entries however old the farm's history is,
and old months can be archived by moving files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime
from functools import cached_property
from pathlib import Path

from tinydb.table import Table

from inventory import codec
from inventory.codec import Doc
from inventory.errors import InventoryCorrupt
from inventory.records import AuditEntry, short_id
from inventory.storage import AtomicJSONStorage, Data

TABLE = "audit"


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
        months = sorted((p.stem for p in self.directory.glob("*.json")), reverse=True)
        for month in months:
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
        for month in sorted((p.stem for p in self.directory.glob("*.json")), reverse=True):
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

    def close(self) -> None:
        """Release every month's file descriptors."""
        for month in self._months.values():
            month.close()

    def _month(self, month: str) -> _Month:
        if month not in self._months:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._months[month] = _Month(self.directory / f"{month}.json")
        return self._months[month]


class _Month:
    """One month of the audit log: one TinyDB file with its own lock."""

    def __init__(self, path: Path) -> None:
        self.storage = AtomicJSONStorage(path, lock_path=path.with_suffix(".lock"))
        self._index: _AuditIndex | None = None

    def record(self, entry: AuditEntry, *more: AuditEntry) -> AuditEntry:
        """Append entries in one write, each with a fresh short id if it has none; return the first."""
        stored = []
        with self.storage.transaction():
            taken = set(self._current().ids)
            for each in (entry, *more):
                if not each.id:
                    each = _with_id(each, taken)
                taken.add(each.id)
                stored.append(each)
            Table(self.storage, TABLE, cache_size=0).insert_multiple(codec.audit_doc(e) for e in stored)
        return stored[0]

    def entries(self, *, vm: str | None = None, limit: int = 20) -> list[AuditEntry]:
        """Newest entries first, of one VM or of all."""
        index = self._current()
        docs = index.newest_first if vm is None else index.by_vm.get(vm, [])
        return [index.decode(doc) for doc in docs[: max(limit, 0)]]

    def walk(self) -> Iterator[AuditEntry]:
        """Every entry, newest first, decoded as the walk reaches it."""
        index = self._current()
        for doc in index.newest_first:
            yield index.decode(doc)

    def close(self) -> None:
        """Release the storage's file descriptors."""
        self.storage.close()

    def _current(self) -> _AuditIndex:
        generation, data = self.storage.snapshot()
        if self._index is None or self._index.generation != generation:
            self._index = _AuditIndex(data, generation, self.storage.path)
        return self._index


class _AuditIndex:
    """Entries of one version of a month's file, sorted newest first and grouped by VM."""

    def __init__(self, data: Data, generation: int, path: Path) -> None:
        self.generation = generation
        self._docs = data.get(TABLE, {})
        self._path = path

    @cached_property
    def newest_first(self) -> list[Doc]:
        """Every entry's document, newest first (ties: the later insert first)."""
        keyed = sorted(self._docs.items(), key=lambda kv: (str(kv[1].get("at", "")), _number(kv[0])))
        return [doc for _, doc in reversed(keyed)]

    @cached_property
    def by_vm(self) -> dict[str, list[Doc]]:
        """VM name -> its entries, newest first; an evacuation names the VMs it moved in extra.vms."""
        out: dict[str, list[Doc]] = {}
        for doc in self.newest_first:
            extra = doc.get("extra")
            names = {str(doc.get("vm") or ""), *str((extra or {}).get("vms", "")).split(",")} - {""}
            for name in sorted(names):
                out.setdefault(name, []).append(doc)
        return out

    @cached_property
    def ids(self) -> set[str]:
        """Every id in use."""
        return {str(doc.get("id", "")) for doc in self._docs.values()}

    def decode(self, doc: Doc) -> AuditEntry:
        """AuditEntry from a document, or InventoryCorrupt naming the entry."""
        try:
            return codec.audit_record(doc)
        except (KeyError, TypeError, ValueError) as exc:
            what = f"missing field {exc.args[0]!r}" if isinstance(exc, KeyError) else str(exc)
            raise InventoryCorrupt(f"{self._path}: audit entry {doc.get('id')!r}: {what}") from None


def _number(key: str) -> int:
    return int(key) if key.isdigit() else -1


def _with_id(entry: AuditEntry, taken: set[str]) -> AuditEntry:
    new_id = short_id()
    while new_id in taken:
        new_id = short_id()
    return replace(entry, id=new_id)
