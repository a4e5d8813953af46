from __future__ import annotations

import json
import os

import pytest
from tinydb import TinyDB
from tinydb.table import Table

from inventory import storage as storage_module
from inventory.errors import InventoryCorrupt
from inventory.storage import AtomicJSONStorage
from inventory.store import Inventory
from tests.inventory.builders import T0, make_host, make_vm


def fill(inv: Inventory, *names: str) -> None:
    inv.record_refresh(
        hosts=[make_host("host1")], vms=[make_vm(n) for n in names], unreachable={}, at=T0, duration_s=0
    )


def test_file_is_compact_tinydb_json(inv, tmp_path):
    fill(inv, "a")
    raw = (tmp_path / "state" / "inventory.json").read_text()
    assert "\n" not in raw
    assert ": " not in raw
    data = json.loads(raw)
    assert {"hosts", "vms", "baselines", "changes", "meta"} <= data.keys()
    db = TinyDB(tmp_path / "state" / "inventory.json", storage=AtomicJSONStorage)
    assert db.table("vms").all()[0]["name"] == "a"  # plain TinyDB can read it
    db.close()


def test_reads_use_the_cache_until_another_writer_replaces_the_file(inv, tmp_path):
    fill(inv, "a")
    other = Inventory(tmp_path / "state")
    assert other.vm("a") is not None
    parsed = other._storage.parse_count
    for _ in range(100):
        other.vm("a")
        other.vms()
    assert other._storage.parse_count == parsed  # no re-parse while nothing changed

    fill(inv, "a", "b")
    assert other.vm("b") is not None
    assert other._storage.parse_count == parsed + 1
    other.close()


def test_own_writes_are_not_parsed_back(inv):
    fill(inv, "a")
    fill(inv, "a", "b")
    assert inv.vm("b") is not None
    assert inv._storage.parse_count == 0


def test_a_batch_of_table_operations_is_one_write(tmp_path, monkeypatch):
    storage = AtomicJSONStorage(tmp_path / "db.json")
    replaced = []
    real_replace = os.replace
    monkeypatch.setattr(storage_module.os, "replace", lambda a, b: replaced.append(b) or real_replace(a, b))
    with storage.transaction():
        Table(storage, "t1").insert({"x": 1})
        Table(storage, "t2").insert_multiple([{"y": 1}, {"y": 2}])
        Table(storage, "t1").remove(doc_ids=[1])
        assert replaced == []
    assert [p for p in replaced if p == storage.path] == [storage.path]  # older versions are renamed too
    assert json.loads((tmp_path / "db.json").read_text()) == {"t1": {}, "t2": {"1": {"y": 1}, "2": {"y": 2}}}
    storage.close()


def test_failed_transaction_writes_nothing(tmp_path):
    storage = AtomicJSONStorage(tmp_path / "db.json")
    with storage.transaction():
        Table(storage, "t").insert({"x": 1})
    before = (tmp_path / "db.json").read_bytes()

    def insert_then_fail() -> None:
        with storage.transaction():
            Table(storage, "t").insert({"x": 2})
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        insert_then_fail()
    assert (tmp_path / "db.json").read_bytes() == before
    assert storage.read() == {"t": {"1": {"x": 1}}}  # the cache did not keep the aborted insert
    storage.close()


def test_writes_outside_a_transaction_are_refused(tmp_path):
    storage = AtomicJSONStorage(tmp_path / "db.json")
    with pytest.raises(RuntimeError, match="transaction"):
        Table(storage, "t").insert({"x": 1})
    assert not (tmp_path / "db.json").exists()
    storage.close()


def test_leftover_temporary_files_are_cleaned_by_the_next_writer(inv, tmp_path):
    leftover = tmp_path / "state" / ".inventory.json.abc123.tmp"
    leftover.write_text('{"half": ')
    fill(inv, "a")
    assert not leftover.exists()
    assert sorted(p.name for p in (tmp_path / "state").iterdir()) == ["inventory.json", "inventory.lock"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"vms": {"1": {"name": "a"', "not valid JSON"),
        ("[1, 2]", "expected an object of tables"),
        ('{"vms": [1]}', "table 'vms' is list"),
        ('{"vms": {"1": 5}}', "document 1: not an object"),
        (b'{"vms": {"1": {"name": "\xff"}}}', "not UTF-8"),
    ],
    ids=["truncated", "not-an-object", "table-not-object", "document-not-object", "latin1"],
)
def test_corrupt_file_raises_inventory_corrupt(tmp_path, content, message):
    state = tmp_path / "state"
    state.mkdir()
    path = state / "inventory.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    inv = Inventory(state)
    with pytest.raises(InventoryCorrupt, match=message) as caught:
        inv.vm("a")
    assert str(path) in str(caught.value)
    with pytest.raises(InventoryCorrupt):  # and nothing overwrites the file the operator must fix
        fill(inv, "a")
    assert path.read_bytes() == (content if isinstance(content, bytes) else content.encode())


def test_malformed_record_names_table_document_and_field(inv, tmp_path):
    fill(inv, "a")
    path = tmp_path / "state" / "inventory.json"
    data = json.loads(path.read_text())
    doc_id, doc = next(iter(data["vms"].items()))
    del doc["last_seen"]
    path.write_text(json.dumps(data))
    with pytest.raises(InventoryCorrupt, match=f"table 'vms', document {doc_id}: missing field 'last_seen'"):
        inv.vm("a")
