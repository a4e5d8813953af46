from __future__ import annotations

from dataclasses import replace

import pytest

from inventory.records import AuditEntry
from inventory.store import Inventory
from tests.inventory.builders import at


def entry(minute: float, vm: str = "", **kw) -> AuditEntry:
    return AuditEntry(at=at(minute), user="ana", text=f"cmd {minute}", outcome="ok", vm=vm, **kw)


def test_entries_newest_first_and_filtered_by_vm(inv):
    inv.record_audit(entry(1, "ldap3"))
    inv.record_audit(entry(3, "imap1"))
    inv.record_audit(entry(2, "ldap3"))
    inv.record_audit(entry(4))

    assert [e.text for e in inv.audit()] == ["cmd 4", "cmd 3", "cmd 2", "cmd 1"]
    assert [e.text for e in inv.audit(vm="ldap3")] == ["cmd 2", "cmd 1"]
    assert [e.text for e in inv.audit(limit=2)] == ["cmd 4", "cmd 3"]
    assert inv.audit(vm="nobody") == []


def test_entry_round_trips_with_a_generated_id(inv, tmp_path):
    stored = inv.record_audit(
        entry(
            1,
            "ldap3",
            channel="#ops",
            command="migrate ldap3 to host2",
            hosts=("host1", "host2"),
            detail="moved",
            duration_ms=12.5,
            role="operator",
            extra={"thread": "123.45"},
        )
    )
    assert len(stored.id) == 12
    assert inv.audit() == [stored]
    assert Inventory(tmp_path / "state").audit() == [stored]
    assert (tmp_path / "state" / "audit" / "2025-03.jsonl").exists()


def test_ids_are_unique_and_given_ids_kept(inv):
    ids = {inv.record_audit(entry(n)).id for n in range(50)}
    assert len(ids) == 50
    assert inv.record_audit(entry(60, id="slack-1")).id == "slack-1"


def test_unknown_outcome_is_refused():
    with pytest.raises(ValueError, match="outcome"):
        AuditEntry(at=at(0), user="ana", text="x", outcome="maybe")  # type: ignore[arg-type]


def test_audit_does_not_touch_the_inventory_file(inv, tmp_path):
    inv.record_audit(entry(1))
    assert not (tmp_path / "state" / "inventory.json").exists()


def test_months_are_separate_files_read_newest_first(inv):
    from datetime import timedelta

    old = inv.record_audit(entry(0, vm="web1"))
    newer = inv.record_audit(replace(entry(1, vm="web1"), at=old.at + timedelta(days=40)))
    newest = inv.record_audit(replace(entry(2, vm="db1"), at=old.at + timedelta(days=41)))
    files = sorted(p.name for p in (inv.directory / "audit").glob("*.jsonl"))
    assert files == ["2025-03.jsonl", "2025-04.jsonl"]
    assert [e.id for e in inv.audit()] == [newest.id, newer.id, old.id]
    assert [e.id for e in inv.audit(vm="web1")] == [newer.id, old.id]
    assert [e.id for e in inv.audit(limit=2)] == [newest.id, newer.id]
