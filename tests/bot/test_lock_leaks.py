"""Locks never leak: a lock that cannot be taken fully is given back, and the change is FAILED and audited."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import vmlocks
from bot.engine import ChatEvent, Engine, Pending
from bot.results import Outcome
from bot.vmlocks import Busy, host_key
from tests.farm_ops.helpers import live_vms


class FullDisk:
    """A tiny tmpfs mounted over a folder, filled up so that the next write to a new file gets ENOSPC."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0755", "granja-test-full", str(folder)],
                       check=True, timeout=30)
        self.filler = folder / "filler"

    def fill(self) -> None:
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        try:
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"x" * 4096)
        finally:
            os.close(fd)
        fd = os.open(self.folder / "probe", os.O_WRONLY | os.O_CREAT)
        try:
            with pytest.raises(OSError, match="No space left") as full:
                os.write(fd, b"x")
        finally:
            os.close(fd)
            os.unlink(self.folder / "probe")
        assert full.value.errno == errno.ENOSPC

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)

    def unmount(self) -> None:
        # Lazily: a lock file a process still holds open (the leak under test) must not keep it mounted.
        subprocess.run(["umount", "--lazy", str(self.folder)], check=True, timeout=30)


@pytest.fixture
def full_locks(state) -> Iterator[FullDisk]:
    """The state directory's lock folder on a disk that is full."""
    disk = FullDisk(state / "locks")
    try:
        yield disk
    finally:
        disk.unmount()


def granja(state: Path, *words: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "granja", "--state", str(state), *words],
                          capture_output=True, text=True, check=False, timeout=60)


def test_a_lock_file_that_cannot_be_written_leaves_no_vm_busy(engine: Engine, state, full_locks):
    pending = engine.prepare(ChatEvent(user="root", text="shutdown imap2"))
    assert isinstance(pending, Pending), pending
    full_locks.fill()
    reply = engine.confirm(pending, by="root")
    assert reply.outcome is Outcome.FAILED, reply.summary
    assert reply.summary.startswith("Could not take the lock of imap2 ")
    assert "No space left on device" in reply.summary
    assert reply.summary.endswith("Nothing was done.")
    assert live_vms(engine)["imap2"].state.value == "running"
    audit = engine.inventory.audit(limit=1)[0]
    assert (audit.outcome, audit.command, audit.vm) == ("failed", "shutdown imap2", "imap2")
    full_locks.free()  # the disk has room again: nothing is left held, in this process or any other
    assert engine.busy.holder("imap2") is None
    other = granja(state, "ask", "shutdown imap2", "--yes")
    assert other.returncode == 0, other.stdout + other.stderr
    assert "imap2 shut down on" in other.stdout
    again = engine.prepare(ChatEvent(user="root", text="start imap2"))
    assert isinstance(again, Pending), again
    assert engine.confirm(again, by="root").outcome is Outcome.OK


def test_a_preview_whose_lock_cannot_be_read_is_failed_and_audited(engine: Engine, state):
    (state / "locks" / "imap2.lock").mkdir(parents=True)  # not a file: it cannot be opened as one
    reply = engine.prepare(ChatEvent(user="root", text="shutdown imap2"))
    assert not isinstance(reply, Pending)
    assert reply.outcome is Outcome.FAILED, reply.summary
    assert reply.summary.startswith("Could not take the lock of imap2 ")
    assert engine.inventory.audit(limit=1)[0].outcome == "failed"


def test_an_evacuation_whose_later_lock_fails_gives_back_the_ones_it_took(engine: Engine, state):
    pending = engine.prepare(ChatEvent(user="root", text="evacuate host05"))
    assert isinstance(pending, Pending), pending
    held = pending.plan.held
    broken = held[2]  # the host and the first VM are taken before this one fails
    (state / "locks" / f"{broken.lower()}.lock").unlink()
    (state / "locks" / f"{broken.lower()}.lock").mkdir()
    before = {name: vm.host for name, vm in live_vms(engine).items()}
    reply = engine.confirm(pending, by="root")
    assert reply.outcome is Outcome.FAILED, reply.summary
    assert reply.summary.startswith(f"Could not take the lock of {broken.removeprefix('host:')} ")
    assert {name: vm.host for name, vm in live_vms(engine).items()} == before
    assert "host05" not in engine.inventory.maintenance()
    other = Busy(state / "locks")  # another process sees every one it took free again
    for name in held[:2]:
        assert other.hold(name, who="bob", what="a test") is None, name
        other.release(name)
    audit = engine.inventory.audit(limit=1)[0]
    assert (audit.outcome, audit.command) == ("failed", "evacuate host05")


def test_hold_all_releases_what_it_took_when_a_later_one_fails(tmp_path):
    busy = Busy(tmp_path)
    (tmp_path / "b.lock").mkdir()
    with pytest.raises(Exception) as failure:  # noqa: PT011 - the kind is checked below, after the leak
        busy.hold_all(["a", host_key("h1"), "b"], who="carol", what="evacuate h1")
    other = Busy(tmp_path)
    for name in ("a", host_key("h1")):
        assert other.hold(name, who="bob", what="a test") is None, f"{name} is still held"
    assert busy.holder("a") is not None  # the other process has it now, not this one
    assert isinstance(failure.value, vmlocks.LockFailed)
    assert str(failure.value).startswith("Could not take the lock of b (")
