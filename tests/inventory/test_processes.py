"""Sharing one state directory: threads, other objects, other processes, killed processes."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

from tinydb.table import Table

from inventory.records import AuditEntry
from inventory.storage import AtomicJSONStorage
from inventory.store import Inventory
from tests.inventory.builders import T0, at, make_host, make_vm

REPO = Path(__file__).resolve().parents[2]


def python(code: str, *args: object, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Run `code` in a new Python process, granja importable, the test's GRANJA_ variables left out."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GRANJA_")}
    return subprocess.Popen([sys.executable, "-c", code, *map(str, args)], cwd=REPO,
                            env={**clean, "PYTHONPATH": str(REPO), **(env or {})})


def test_two_inventories_see_each_others_writes_and_lose_nothing(tmp_path):
    a, b = Inventory(tmp_path), Inventory(tmp_path)
    a.record_refresh(
        hosts=[make_host("host1")], vms=[make_vm("x"), make_vm("y")], unreachable={}, at=T0, duration_s=0
    )
    assert b.vm("x").vm.memory_mib == 1024  # b has now cached this version

    a.record_vm(make_vm("x", memory_mib=2048), at=at(1), command="set x memory", user="a")
    b.record_vm(make_vm("y", vcpus=4), at=at(2), command="set y vcpus", user="b")  # b was stale
    a.record_audit(AuditEntry(at=at(3), user="a", text="one", outcome="ok"))
    b.record_audit(AuditEntry(at=at(4), user="b", text="two", outcome="ok"))

    for inv in (a, b):
        assert inv.vm("x").vm.memory_mib == 2048
        assert inv.vm("y").vm.vcpus == 4
        assert [c.user for c in inv.changes(limit=2)] == ["b", "a"]
        assert [e.text for e in inv.audit()] == ["two", "one"]
    a.close()
    b.close()


def test_readers_in_other_threads_see_the_last_write_not_a_half_done_one(tmp_path):
    storage = AtomicJSONStorage(tmp_path / "db.json")
    with storage.transaction():
        Table(storage, "vms").insert_multiple({"n": n} for n in range(10))
    removed, checked = threading.Event(), threading.Event()

    def rewrite() -> None:
        with storage.transaction():
            ids = [doc.doc_id for doc in Table(storage, "vms").all()]
            Table(storage, "vms").remove(doc_ids=ids)
            removed.set()
            checked.wait(10)  # hold the transaction half done while the reader looks
            Table(storage, "vms").insert_multiple({"n": n} for n in range(20))

    writer = threading.Thread(target=rewrite)
    writer.start()
    assert removed.wait(10)
    during = len(Table(storage, "vms"))
    checked.set()
    writer.join()
    assert (during, len(Table(storage, "vms"))) == (10, 20)
    storage.close()


# A writer process: STATE TAG GO COUNT; it opens the inventory, then waits for the file GO to start.
STARTER = """
import sys, time
from pathlib import Path
from inventory.records import AuditEntry
from inventory.store import Inventory
from tests.inventory.builders import at, make_vm
state, tag, go, count = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
inv = Inventory(state)
while not go.exists():
    time.sleep(0.001)
"""
WRITER = STARTER + """
for i in range(count):
    inv.record_vm(make_vm(f"{tag}{i % 5}", memory_mib=1000 + i), at=at(i), command="c", user=tag)
    inv.record_audit(AuditEntry(at=at(i), user=tag, text=f"{tag} {i}", outcome="ok"))
"""


def test_concurrent_processes_lose_no_update(tmp_path):
    go, count, tags = tmp_path / "go", 30, ["p", "q", "r"]
    procs = [python(WRITER, tmp_path / "state", tag, go, count) for tag in tags]
    time.sleep(0.3)
    go.touch()
    assert [proc.wait(timeout=120) for proc in procs] == [0, 0, 0]

    inv = Inventory(tmp_path / "state")
    assert len(inv.vm_names()) == 15
    for tag in tags:
        for k in range(5):
            name = f"{tag}{k}"
            assert inv.vm(name).vm.memory_mib == 1000 + count - 5 + k  # its last write
            assert len(inv.changes(name)) == 1 + count // 5 - 1  # created, then a change per write
    entries = inv.audit(limit=1000)
    assert len(entries) == len(tags) * count
    assert len({e.id for e in entries}) == len(entries)


LOOPER = """
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from inventory.store import Inventory
from tests.inventory.builders import T0, make_host, make_vm
state, n = Path(sys.argv[1]), int(sys.argv[2])
inv = Inventory(state)
hosts = [make_host(f"host{h}") for h in range(20)]
base = [make_vm(f"vm{i}", f"host{i % 20}") for i in range(n)]
last = inv.last_refresh()
gen = 0 if last is None else int((last.at - T0).total_seconds())
while True:
    gen += 1
    vms = [replace(vm, memory_mib=1000 + gen) for vm in base]
    inv.record_refresh(hosts=hosts, vms=vms, unreachable={}, at=T0 + timedelta(seconds=gen),
                       duration_s=gen)
"""


def check_complete_snapshot(state: Path, n: int) -> int:
    """Every table agrees on one refresh generation; return it."""
    inv = Inventory(state)
    info = inv.last_refresh()
    assert info is not None
    gen = int(info.duration_s)
    assert info.at == T0 + timedelta(seconds=gen)
    records = inv.vms()
    assert len(records) == n
    assert {(r.vm.memory_mib, r.last_seen) for r in records} == {(1000 + gen, info.at)}
    assert {h.last_seen for h in inv.hosts()} == {info.at}
    assert len(inv.changes(limit=10**9)) == n * gen  # n "created", then n memory changes a refresh
    assert len(inv.vm_names()) == n
    assert all(inv.baseline(name) for name in ("vm0", f"vm{n - 1}"))
    inv.close()
    return gen


def file_identity(path: Path) -> tuple[int, int, int]:
    try:
        st = path.stat()
    except FileNotFoundError:
        return (0, 0, 0)
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def wait_until(condition, proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert proc.poll() is None, f"writer died before it {what}"
        assert time.monotonic() < deadline, f"writer never {what}"
        time.sleep(0.0002)


def kill_at(strategy: str, proc: subprocess.Popen[bytes], state: Path, rng: random.Random) -> None:
    """Kill the writer at a random moment, just as the file changed, or while a write is under way."""
    path = state / "inventory.json"
    if strategy == "random":
        time.sleep(rng.uniform(0, 0.3))
    elif strategy == "file-changed":
        seen = file_identity(path)
        wait_until(lambda: file_identity(path) != seen, proc, "changed the file again")
        time.sleep(rng.uniform(0, 0.002))
    else:  # mid-write: a temporary file is being filled
        wait_until(lambda: any(state.glob(".inventory.json.*.tmp")), proc, "wrote a temporary file")
        time.sleep(rng.uniform(0, 0.01))
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def test_killed_writer_always_leaves_a_complete_snapshot(tmp_path):
    state, n, seed = tmp_path / "state", 2000, random.randrange(2**32)
    rng = random.Random(seed)
    strategies = ["random", "file-changed", "mid-write"] * 3
    rng.shuffle(strategies)
    generations = []
    for strategy in strategies:
        before = file_identity(state / "inventory.json")
        proc = python(LOOPER, state, n)
        wait_until(lambda: file_identity(state / "inventory.json") != before, proc, "wrote")  # noqa: B023
        kill_at(strategy, proc, state, rng)
        generations.append(check_complete_snapshot(state, n))
    assert generations == sorted(generations), f"seed {seed}"
    assert generations[0] >= 1, f"seed {seed}"

    # The next writer clears what killed writers left half-written.
    Inventory(state).forget_vm("vm0", at=T0, command="t", user="t")
    assert not list(state.glob(".inventory.json.*"))
