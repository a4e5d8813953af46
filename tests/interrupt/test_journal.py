"""The operation journal: intent before the change, steps, settling, orphans, and `involved`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from inventory.journal import Journal

AT = datetime(2026, 11, 30, 21, 4, tzinfo=UTC)


def begin(journal: Journal):
    return journal.begin(command="evacuate host07", user="root", plan="move web1, webmail3",
                         vms=("web1", "webmail3"), hosts=("host07", "host09"), at=AT)


def test_a_running_operation_is_not_an_orphan_and_its_file_says_how_far_it_got(tmp_path):
    journal = Journal(tmp_path / "journal")
    running = begin(journal)
    journal.step(running, "1/2: web1 → host09 (offline)")
    other = Journal(tmp_path / "journal")  # another reader: the lock is held by a live owner
    assert other.orphans() == []
    doc = json.loads(next((tmp_path / "journal").glob("*.json")).read_text())
    assert doc["command"] == "evacuate host07"
    assert doc["steps"] == ["1/2: web1 → host09 (offline)"]
    assert doc["outcome"] == ""
    window = timedelta(minutes=1)
    assert other.involved("webmail3", now=AT + timedelta(hours=3), within=window)  # open: involved
    assert other.involved("webmail3", now=AT - timedelta(seconds=1), within=window) is None  # not begun
    journal.settle(running, outcome="ok", at=AT + timedelta(minutes=2))
    assert other.orphans() == []
    assert other.involved("web1", now=AT + timedelta(minutes=3), within=window).command == "evacuate host07"
    assert other.involved("web1", now=AT + timedelta(minutes=3, seconds=1), within=window) is None
    assert other.involved("ldap3", now=AT + timedelta(minutes=2), within=window) is None


def test_an_operation_whose_owner_is_gone_is_an_orphan_until_closed(tmp_path):
    journal = Journal(tmp_path / "journal")
    running = begin(journal)
    running.lock.close()  # what the kernel does when the process dies: the flock goes
    found = Journal(tmp_path / "journal").orphans()
    assert [(op.command, op.user, op.vms) for op in found] == [
        ("evacuate host07", "root", ("web1", "webmail3"))]
    seen: list[str] = []
    assert journal.settle_orphans(lambda op: seen.append(op.id), outcome="interrupted", at=AT) == 1
    assert seen == [found[0].id]
    assert journal.orphans() == []
    assert journal.settle_orphans(seen.append, outcome="interrupted", at=AT) == 0


def test_settled_operations_are_pruned_after_a_day(tmp_path):
    journal = Journal(tmp_path / "journal")
    journal.settle(begin(journal), outcome="ok", at=AT)
    begin(Journal(tmp_path / "journal")).lock.close()
    later = journal.begin(command="migrate web1", user="root", plan="", vms=("web1",), hosts=("host09",),
                          at=AT + timedelta(days=2))
    files = sorted(p.name for p in (tmp_path / "journal").glob("*.json"))
    assert len(files) == 2  # the settled one went; the unsettled one stays for its report
    journal.settle(later, outcome="ok", at=AT + timedelta(days=2))


def test_a_run_that_takes_vms_a_few_at_a_time_has_only_those_in_hand(tmp_path):
    journal = Journal(tmp_path / "journal")
    running = journal.begin(command="rolling restart ldap", user="root", plan="…",
                            vms=("ldap1", "ldap2", "ldap3"), hosts=("host05",), at=AT)
    other, later, window = Journal(tmp_path / "journal"), AT + timedelta(minutes=1), timedelta(seconds=10)
    assert other.involved("ldap3", now=later, within=window) is not None  # nothing taken yet: all named
    journal.step(running, "1/3: restart ldap1", taking=("ldap1",))
    journal.step(running, "ldap1 is off; starting it")
    journal.step(running, "2/3: restart ldap2", taking=("ldap2",))
    assert other.involved("ldap1", now=later, within=window) is not None
    assert other.involved("ldap2", now=later, within=window) is not None
    assert other.involved("ldap3", now=later, within=window) is None  # not reached yet
    journal.settle(running, outcome="ok", at=later)


def test_carried_out_tells_a_live_operation_from_one_whose_process_died(tmp_path):
    journal = Journal(tmp_path / "journal")
    running = begin(journal)
    other = Journal(tmp_path / "journal")
    assert other.carried_out(running.operation)
    running.lock.close()  # the process dies: the kernel drops its lock, the journal stays open
    (orphan,) = other.orphans()
    assert not other.carried_out(orphan)
    assert orphan.open
    journal.settle_orphans(lambda _op: None, outcome="interrupted", at=AT)
    assert not other.carried_out(orphan)  # settled: its lock file is gone
