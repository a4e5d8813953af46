"""In-memory indexes over one version of inventory.json, built lazily and never mutated.

A Snapshot is made whenever the storage publishes a new version (our own write or another
process's); until then every lookup is a dict access. Each index is built the first time it
is asked for, so a process that only looks up VMs never sorts the change log.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

from inventory import codec
from inventory.codec import Doc
from inventory.errors import InventoryCorrupt
from inventory.natural import natural_key
from inventory.records import Baseline, Change, HostRecord, RefreshInfo, VMRecord
from inventory.storage import Data, damaged

T = TypeVar("T")
Entry = tuple[int, Doc]  # (TinyDB document id, document)


class Snapshot:
    """Read-only view of one inventory version, with name, host and cluster indexes."""

    def __init__(self, data: Data, *, generation: int, path: Path) -> None:
        self.generation = generation
        self._data = data
        self._path = path
        self._vm_records: dict[str, VMRecord] = {}

    def vm(self, name: str) -> VMRecord | None:
        """The VM's record, decoded once per snapshot."""
        record = self._vm_records.get(name)
        if record is None:
            entry = self.vm_entries.get(name)
            if entry is None:
                return None
            record = self.decode("vms", entry, codec.vm_record)
            self._vm_records[name] = record
        return record

    def vms(self, names: list[str]) -> list[VMRecord]:
        """Records of the given names, skipping any that are not known."""
        return [record for name in names if (record := self.vm(name)) is not None]

    def host(self, name: str) -> HostRecord | None:
        """The host's record."""
        entry = self.host_entries.get(name)
        return None if entry is None else self.decode("hosts", entry, codec.host_record)

    def baseline(self, name: str, *, private: bool = True) -> Baseline | None:
        """The VM's baseline, with a private copy of its config; with `private` False, for reading only.

        Copying every config took half of the health check's drift pass over 5,000 VMs.
        """
        entry = self.baseline_entries.get(name)
        if entry is None:
            return None
        if private:
            entry = (entry[0], {**entry[1], "config": copy.deepcopy(entry[1].get("config"))})
        return self.decode("baselines", entry, codec.baseline_record)

    def changes(self, vm: str | None, limit: int) -> list[Change]:
        """Newest changes first, of one VM or of all."""
        entries = self.changes_newest_first if vm is None else self.changes_by_vm.get(vm, [])
        return [self.decode("changes", entry, codec.change_record) for entry in entries[:limit]]

    def last_refresh(self) -> RefreshInfo | None:
        """What the last refresh recorded, if any."""
        entry = self.meta_entry("last_refresh")
        return None if entry is None else self.decode("meta", entry, codec.refresh_record)

    def meta_entry(self, key: str) -> Entry | None:
        """The meta table's document with that key (the table holds a handful at most)."""
        for doc_id, doc in self._data.get("meta", {}).items():
            if doc.get("key") == key:
                return self._doc_id("meta", doc_id), doc
        return None

    def max_id(self, table: str) -> int:
        """Highest document id in a table (0 if empty), to allocate new ones."""
        return max((self._doc_id(table, key) for key in self._data.get(table, {})), default=0)

    @cached_property
    def vm_entries(self) -> dict[str, Entry]:
        """VM name -> its document."""
        return self._by_field("vms", "name")

    @cached_property
    def vm_order(self) -> list[str]:
        """VM names in natural order."""
        return sorted(self.vm_entries, key=natural_key)

    @cached_property
    def by_host(self) -> dict[str, list[str]]:
        """Host name -> names of the VMs recorded on it, in natural order."""
        return self._group(lambda vm: vm["host"])

    @cached_property
    def running_elsewhere(self) -> dict[str, list[str]]:
        """Host name -> names of the VMs recorded on another host that run on it too, in natural order."""
        out: dict[str, list[str]] = {}
        for name in self.vm_order:
            for host in self.vm_entries[name][1].get("running_elsewhere", ()):
                out.setdefault(str(host), []).append(name)
        return out

    @cached_property
    def by_cluster(self) -> dict[str, list[str]]:
        """Cluster -> names of its VMs, in natural order."""
        return self._group(lambda vm: vm.get("meta", {}).get("cluster", ""))

    @cached_property
    def host_entries(self) -> dict[str, Entry]:
        """Host name -> its document."""
        return self._by_field("hosts", "name")

    @cached_property
    def host_order(self) -> list[str]:
        """Host names in natural order."""
        return sorted(self.host_entries, key=natural_key)

    @cached_property
    def baseline_entries(self) -> dict[str, Entry]:
        """VM name -> its baseline document."""
        return self._by_field("baselines", "vm")

    @cached_property
    def changes_newest_first(self) -> list[Entry]:
        """Every change, newest first; the changes of one event keep the order they were logged in."""
        entries = sorted(
            (self._doc_id("changes", key), doc) for key, doc in self._data.get("changes", {}).items()
        )
        # Stored times are fixed-width UTC, so they sort as text; the sort is stable even
        # reversed, so a placement stays ahead of the config changes logged with it.
        return sorted(entries, key=lambda e: str(e[1].get("at", "")), reverse=True)

    @cached_property
    def changes_by_vm(self) -> dict[str, list[Entry]]:
        """VM name -> its changes, newest first."""
        out: dict[str, list[Entry]] = {}
        for entry in self.changes_newest_first:
            out.setdefault(str(entry[1].get("vm", "")), []).append(entry)
        return out

    def decode(self, table: str, entry: Entry, decoder: Callable[[Doc], T]) -> T:
        """Run a document decoder, turning a malformed document into InventoryCorrupt."""
        try:
            return decoder(entry[1])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise self._corrupt(table, entry[0], exc) from None

    def _by_field(self, table: str, field: str) -> dict[str, Entry]:
        out: dict[str, Entry] = {}
        for key, doc in self._data.get(table, {}).items():
            name = doc.get(field)
            if not isinstance(name, str):
                raise self._corrupt(table, key, KeyError(field))
            out[name] = (self._doc_id(table, key), doc)
        return out

    def _group(self, pick: Callable[[Doc], Any]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for name in self.vm_order:  # already sorted, so every group comes out sorted
            doc_id, doc = self.vm_entries[name]
            try:
                group = pick(doc["vm"])
            except (KeyError, TypeError, AttributeError) as exc:
                raise self._corrupt("vms", doc_id, exc) from None
            out.setdefault(str(group), []).append(name)
        return out

    def _doc_id(self, table: str, key: str) -> int:
        try:
            return int(key)
        except ValueError:
            raise self._corrupt(table, key, ValueError("document id is not a number")) from None

    def _corrupt(self, table: str, doc_id: object, exc: Exception) -> InventoryCorrupt:
        what = f"missing field {exc.args[0]!r}" if isinstance(exc, KeyError) else str(exc)
        return damaged(Path(self._path), f"table {table!r}, document {doc_id}: {what}")
