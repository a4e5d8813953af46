"""The audit's month files: appended to, never rewritten; killed writers, damaged lines and old files.

Recording an entry appends one line to audit/YYYY-MM.jsonl (inventory/append_log.py). These
tests look at the bytes on disk and at what `audit` shows a person after writers were killed at
every step, cut short at every byte, or ran at the same time in other processes; and they read
months written in the format before (one TinyDB file a month, rewritten at every entry).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from granja.app import open_engine
from inventory.records import AuditEntry
from inventory.storage import KEEP
from inventory.store import Inventory
from tests.conftest import Chat
from tests.inventory.builders import at
from tests.inventory.test_processes import REPO, STARTER, python

MONTH = "2025-03"  # the month of tests.inventory.builders.T0


def entry(minute: float, text: str = "", vm: str = "", **kw: object) -> AuditEntry:
    return AuditEntry(at=at(minute), user="ana", text=text or f"cmd {minute}", outcome="ok", vm=vm,
                      **kw)  # type: ignore[arg-type]


def month_file(state: Path) -> Path:
    return state / "audit" / f"{MONTH}.jsonl"


def texts(inv: Inventory, limit: int = 10_000) -> list[str]:
    return [e.text for e in inv.audit(limit=limit)]


def seeded(state: Path, count: int) -> Inventory:
    inv = Inventory(state)
    inv.record_audits([entry(n / 100, f"old {n}") for n in range(count)])
    return inv


def test_recording_an_entry_appends_one_line_and_rewrites_nothing(tmp_path):
    state = tmp_path / "state"
    inv = seeded(state, 500)
    path = month_file(state)
    before, inode = path.read_bytes(), path.stat().st_ino
    inv.record_audit(entry(10, "where is ldap3", vm="ldap3"))
    after = path.read_bytes()
    assert path.stat().st_ino == inode  # the same file, not a new one renamed over it
    assert after.startswith(before)  # nothing already written was touched
    added = after[len(before):]
    assert added.count(b"\n") == 1
    assert added.endswith(b"\n")
    assert json.loads(added)["text"] == "where is ldap3"
    assert not [p.name for p in path.parent.iterdir() if p.name.startswith(f"{MONTH}.jsonl.")]  # no copies
    assert texts(Inventory(state), 2) == ["where is ldap3", "old 499"]


def test_a_reader_that_stays_open_sees_each_new_entry(tmp_path):
    state = tmp_path / "state"
    reader, writer = seeded(state, 3), Inventory(state)
    assert texts(reader) == ["old 2", "old 1", "old 0"]
    writer.record_audit(entry(5, "new one"))
    assert texts(reader, 2) == ["new one", "old 2"]
    writer.record_audit(entry(4, "written later, earlier time"))
    assert texts(reader) == ["new one", "written later, earlier time", "old 2", "old 1", "old 0"]


def test_a_line_cut_short_at_any_byte_costs_that_line_only_and_says_so(tmp_path):
    """A writer killed mid-write can leave any prefix of its line: try every one."""
    state = tmp_path / "seed"
    seeded(state, 3).close()
    good = month_file(state).read_bytes()
    line = json.dumps({"at": "2025-03-01T12:09:00.000000+00:00", "user": "ana", "text": "victim",
                       "outcome": "ok", "id": "0123456789ab"}).encode() + b"\n"
    problems = []
    for cut in range(1, len(line)):
        copy = tmp_path / f"cut{cut}"
        (copy / "audit").mkdir(parents=True)
        month_file(copy).write_bytes(good + line[:cut])
        inv = Inventory(copy)
        shown, damage = texts(inv), inv.audit_damage()
        if shown != ["old 2", "old 1", "old 0"]:
            problems.append(f"cut {cut}: shown {shown}")
        if damage != [f"{month_file(copy)}: its last line (line 4) was cut short, as a writer killed "
                      "mid-write leaves it; skipped (the lines before it are whole)"]:
            problems.append(f"cut {cut}: damage {damage}")
        inv.record_audit(entry(20, "next"))  # the next writer starts a line of its own
        again = Inventory(copy)
        whole = cut == len(line) - 1  # only the end of line was missing: the entry is whole
        expected = ["next", *(["victim"] if whole else []), "old 2", "old 1", "old 0"]
        if texts(again) != expected:
            problems.append(f"cut {cut}: after the next write {texts(again)}")
        said = again.audit_damage()
        if whole and said or not whole and (len(said) != 1 or "line 4 is not a whole record" not in said[0]):
            problems.append(f"cut {cut}: after the next write, damage {said}")
    assert problems == []


@pytest.mark.parametrize(("bad", "problem"), [
    (b"\0" * 40, "not valid JSON"),  # what a power cut can leave: the size grew, the data never came
    (b"[1, 2]", "a JSON list, not an object"),
    (b'{"at": "2025-03-01T12:05:00+00:00", "user": "ana"}', "not an audit entry (no text or outcome)"),
    (b'{"at": "today", "user": "ana", "text": "x", "outcome": "ok"}', "(Invalid isoformat"),
    (b"\xff\xfe garbage", "not valid JSON"),
    (b'{"at": "2025-03-01T12:05:00+00:00", "user": "ana", "text": "x", "outcome": "ok", "extra": [1]}',
     "not an audit entry ("),
], ids=["zeros", "list", "missing-fields", "bad-time", "not-utf8", "extra-not-object"])
def test_a_damaged_line_in_the_middle_is_skipped_and_named(tmp_path, bad, problem):
    state = tmp_path / "state"
    inv = seeded(state, 2)
    with month_file(state).open("ab") as stream:
        stream.write(bad + b"\n")
    inv.record_audit(entry(30, "after"))
    fresh = Inventory(state)
    assert texts(fresh) == ["after", "old 1", "old 0"]
    assert fresh.audit(vm="ldap3") == []  # the index by VM takes the damaged line in its stride too
    [said] = fresh.audit_damage()
    assert said.startswith(f"{month_file(state)}: line 3 is not a"), said
    assert problem in said, said


def test_the_audit_command_shows_what_it_skipped(state):
    config = state / "demo" / "farm.toml"
    chat = Chat(open_engine(config=str(config), state=str(state)))
    chat.send("where is ldap3", user="carol")
    [path] = (state / "audit").glob("*.jsonl")
    with path.open("ab") as stream:
        stream.write(b'{"at": "2026-')  # as a writer killed mid-line leaves it
    chat.send("audit all", user="carol")
    assert "where is ldap3" in chat.transcript
    assert f"Not shown: {path}: its last line (line " in chat.transcript
    assert "Traceback" not in chat.transcript


# Old months: one TinyDB file each, as granja wrote them before the JSON-lines files.
LEGACY = {"audit": {
    "1": {"at": "2025-03-01T12:01:00.000000+00:00", "user": "bob", "text": "migrate web1 to host2",
          "outcome": "ok", "id": "aaaaaaaaaaaa", "channel": "#ops", "command": "migrate web1 to host2",
          "vm": "web1", "hosts": ["host1", "host2"], "detail": "moved", "duration_ms": 812.5,
          "role": "operator", "extra": {"thread": "1.2"}},
    "2": {"at": "2025-03-01T12:02:00.000000+00:00", "user": "ana", "text": "evacuate host1",
          "outcome": "ok", "id": "bbbbbbbbbbbb", "channel": "console", "command": "evacuate host1",
          "vm": "", "hosts": ["host1"], "detail": "done", "duration_ms": 3.0, "role": "admin",
          "extra": {"vms": "web1,db1"}},
}}


def test_months_in_the_old_format_are_read_beside_the_new(tmp_path):
    state = tmp_path / "state"
    (state / "audit").mkdir(parents=True)
    old = state / "audit" / f"{MONTH}.json"
    old.write_text(json.dumps(LEGACY))
    february = {**LEGACY["audit"]["1"], "at": "2025-02-27T09:00:00.000000+00:00", "text": "february"}
    (state / "audit" / "2025-02.json").write_text(json.dumps({"audit": {"1": february}}))
    inv = Inventory(state)
    migrate = inv.audit(limit=1, vm="db1")[0]
    assert (migrate.text, migrate.user, migrate.hosts, migrate.extra) == (
        "evacuate host1", "ana", ("host1",), {"vms": "web1,db1"})
    inv.record_audit(entry(3, "after the upgrade", vm="web1"))
    assert old.read_text() == json.dumps(LEGACY)  # the old file is read, never written
    fresh = Inventory(state)
    assert texts(fresh) == ["after the upgrade", "evacuate host1", "migrate web1 to host2", "february"]
    assert [e.text for e in fresh.audit(vm="web1")] == [
        "after the upgrade", "evacuate host1", "migrate web1 to host2", "february"]
    assert fresh.audit_matching(lambda e: e.user == "bob", since=at(-60)) == [
        fresh.audit(vm="web1")[2]]
    assert fresh.audit_damage() == []


def test_a_damaged_old_file_names_its_good_copy_and_the_new_entries_still_show(tmp_path):
    state = tmp_path / "state"
    (state / "audit").mkdir(parents=True)
    old = state / "audit" / f"{MONTH}.json"
    old.write_text(json.dumps(LEGACY))
    os.link(old, old.with_name(f"{old.name}.1"))  # as the old writer kept the version it replaced
    old.unlink()
    old.write_bytes(json.dumps(LEGACY).encode()[:60])
    inv = Inventory(state)
    inv.record_audit(entry(3, "after the upgrade"))
    assert texts(inv) == ["after the upgrade"]
    [said] = inv.audit_damage()
    assert said.startswith(f"{old}: not valid JSON")
    assert f"The newest good copy is {old}.1" in said
    assert f"restore it with: cp -p {old}.1 {old}; its entries are not shown" in said
    assert KEEP >= 1


WRITER = STARTER + """
for i in range(count):
    inv.record_audit(AuditEntry(at=at(i / 1000), user=tag, text=f"{tag} {i} " + "x" * (i % 300),
                                outcome="ok"))
"""


def test_two_processes_appending_at_once_lose_and_mix_nothing_while_a_reader_reads(tmp_path):
    state, go, count = tmp_path / "state", tmp_path / "go", 400
    seeded(state, 1).close()
    procs = [python(WRITER, state, tag, go, count) for tag in ("p", "q")]
    reader, seen, problems = Inventory(state), [], []
    go.touch()
    while any(proc.poll() is None for proc in procs):  # read while both write
        seen.append(len(reader.audit(limit=10**6)))
        if reader.audit_damage():
            problems.append(reader.audit_damage())
    assert [proc.wait(timeout=120) for proc in procs] == [0, 0]
    assert problems == []  # a line being written was never taken for a damaged one
    assert seen == sorted(seen)
    assert len(seen) > 1
    lines = month_file(state).read_bytes().splitlines()
    assert len(lines) == 1 + 2 * count
    docs = [json.loads(line) for line in lines]  # every line whole: nothing interleaved
    for tag in ("p", "q"):
        mine = [d["text"].split()[1] for d in docs if d["user"] == tag]
        assert mine == [str(i) for i in range(count)]  # each process's entries, in its order
    assert len(Inventory(state).audit(limit=10**6)) == 1 + 2 * count


def test_threads_sharing_one_inventory_write_and_read_at_once_with_another_process(tmp_path):
    """The bot's threads: commands and the watcher's alerts append, `audit` and the site read."""
    state, go, count = tmp_path / "state", tmp_path / "go", 300
    inv = seeded(state, 1)
    other = python(WRITER, state, "p", go, count)
    problems: list[str] = []

    def write(tag: str) -> None:
        for i in range(count):
            inv.record_audit(AuditEntry(at=at(i / 1000), user=tag, text=f"{tag} {i}", outcome="ok"))

    def read() -> None:
        while other.poll() is None or any(t.is_alive() for t in writers):
            shown = inv.audit(limit=10**6)
            if len(shown) != len({e.id for e in shown}):
                problems.append(f"{len(shown)} entries shown, {len({e.id for e in shown})} of them distinct")
            if inv.audit_damage():
                problems.append(str(inv.audit_damage()))

    writers = [threading.Thread(target=write, args=(tag,)) for tag in ("t1", "t2")]
    readers = [threading.Thread(target=read) for _ in range(2)]
    go.touch()
    for thread in writers + readers:
        thread.start()
    assert other.wait(timeout=120) == 0
    for thread in writers + readers:
        thread.join(timeout=120)
    assert problems == []
    docs = [json.loads(line) for line in month_file(state).read_bytes().splitlines()]
    assert len(docs) == 1 + 3 * count
    for tag in ("p", "t1", "t2"):
        assert [d["text"].split()[1] for d in docs if d["user"] == tag] == [str(i) for i in range(count)]
    assert len(inv.audit(limit=10**6)) == 1 + 3 * count


KILLED = """
import sys
from pathlib import Path
from inventory.records import AuditEntry
from inventory.store import Inventory
from tests.inventory.builders import at
Inventory(Path(sys.argv[1])).record_audit(AuditEntry(at=at(50), user="ana", text="victim", outcome="ok"))
"""


NEXT = KILLED.replace('"victim"', '"next"').replace("at(50)", "at(60)")


def test_a_writer_killed_at_every_step_of_an_append_loses_no_earlier_entry(tmp_path):
    counted = tmp_path / "count"
    seeded(counted, 2).close()
    log = tmp_path / "steps.log"
    counting = {"GRANJA_CRASH_APPENDS": "1", "GRANJA_CRASH_LOG": str(log)}
    assert python(KILLED, counted, env=counting).wait(60) == 0
    steps = [line.split(" ", 1)[1] for line in log.read_text().splitlines()]
    assert steps == [f"append {MONTH}.jsonl: {step}" for step in ("before write", "written", "synced")]
    for number, step in enumerate(steps, start=1):
        state = tmp_path / f"n{number}"
        seeded(state, 2).close()
        run = python(KILLED, state, env={"GRANJA_CRASH_APPENDS": "1", "GRANJA_CRASH_AT": str(number)})
        assert run.wait(60) == 137, step
        survived = [] if step.endswith("before write") else ["victim"]
        assert texts(Inventory(state)) == [*survived, "old 1", "old 0"], step
        # The kernel let go of the dead writer's lock: the next one writes at once, on a line of its own.
        assert python(NEXT, state).wait(30) == 0, step  # TimeoutExpired: it waited for a dead one's lock
        fresh = Inventory(state)
        assert texts(fresh) == ["next", *survived, "old 1", "old 0"], step
        assert fresh.audit_damage() == [], step


FULL_DISK = """
import resource, signal, sys
from pathlib import Path
from inventory.records import AuditEntry
from inventory.store import Inventory
from tests.inventory.builders import at
path = Path(sys.argv[1]) / "audit" / "2025-03.jsonl"
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (path.stat().st_size + 100, resource.RLIM_INFINITY))
try:
    big = AuditEntry(at=at(50), user="ana", text="y" * 5000, outcome="ok")
    Inventory(Path(sys.argv[1])).record_audit(big)
except OSError as exc:
    print(exc.errno)
"""


def test_a_write_the_disk_cannot_take_leaves_no_half_line(tmp_path):
    state = tmp_path / "state"
    seeded(state, 2).close()
    before = month_file(state).read_bytes()
    run = subprocess.run([sys.executable, "-c", FULL_DISK, str(state)], cwd=REPO, capture_output=True,
                         text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=60, check=True)
    assert run.stdout.strip() == "27"  # EFBIG, after the first 100 bytes went in
    assert month_file(state).read_bytes() == before
    assert texts(Inventory(state)) == ["old 1", "old 0"]
