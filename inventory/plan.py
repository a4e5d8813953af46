"""A pending set of document writes, applied as TinyDB table operations in one transaction."""

from __future__ import annotations

from tinydb.table import Document, Table

from inventory import codec
from inventory.codec import Doc
from inventory.index import Snapshot
from inventory.records import Change
from inventory.storage import AtomicJSONStorage


class Plan:
    """Documents to put or drop per table and changes to log, gathered before anything is written."""

    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap
        self.changes: list[Change] = []
        self._put: dict[str, dict[int, Doc]] = {}
        self._drop: dict[str, set[int]] = {}
        self._next_id: dict[str, int] = {}

    def new_id(self, table: str) -> int:
        """Allocate a document id not used in `table` (we hold the lock, so it stays free)."""
        next_id = self._next_id.get(table) or self.snap.max_id(table) + 1
        self._next_id[table] = next_id + 1
        return next_id

    def put(self, table: str, doc_id: int, doc: Doc) -> None:
        """Insert or replace a whole document."""
        self._put.setdefault(table, {})[doc_id] = doc
        self._drop.get(table, set()).discard(doc_id)

    def drop(self, table: str, doc_id: int) -> None:
        """Remove a document."""
        self._drop.setdefault(table, set()).add(doc_id)
        self._put.get(table, {}).pop(doc_id, None)

    def apply(self, storage: AtomicJSONStorage) -> None:
        """Run the table operations; inside storage.transaction() they make a single write."""
        for table in sorted(self._put.keys() | self._drop.keys()):
            docs = self._put.get(table, {})
            target = Table(storage, table, cache_size=0)
            # Replacing a document is remove + insert: TinyDB's update merges fields into
            # the stored dict in place, which readers of the current version still hold.
            target.remove(doc_ids=[*docs, *self._drop.get(table, ())])
            if docs:
                target.insert_multiple(Document(doc, doc_id=i) for i, doc in docs.items())
        if self.changes:
            log = Table(storage, "changes", cache_size=0)
            log.insert_multiple(codec.change_doc(change) for change in self.changes)
