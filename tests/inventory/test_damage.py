"""A damaged inventory is an error naming the newest good copy and the command that restores it.

Each write keeps the version it replaces (inventory.json.1, .2, .3); an empty, cut or
missing file is never taken for a fresh start, which would lose maintenance marks,
baselines and history.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys

import pytest

from inventory.errors import InventoryCorrupt
from inventory.storage import KEEP
from inventory.store import Inventory
from tests.inventory.builders import T0, make_host, make_vm


def fill(inv: Inventory, *names: str) -> None:
    inv.record_refresh(hosts=[make_host("host1")], vms=[make_vm(n) for n in names], unreachable={}, at=T0,
                       duration_s=0)


def vm_names_in(path) -> list[str]:
    return sorted(doc["name"] for doc in json.loads(path.read_bytes())["vms"].values())


@pytest.fixture
def worked(tmp_path):
    """An inventory written five times, with a maintenance mark and a baseline in its later versions."""
    state = tmp_path / "state"
    inv = Inventory(state)
    for count in range(1, 5):
        fill(inv, *[f"vm{i}" for i in range(count)])
    inv.set_maintenance("host1", on=True, at=T0, user="carol")
    inv.set_baseline("vm0", at=T0, user="carol")
    inv.close()
    return state


def test_each_write_keeps_the_version_it_replaces_by_link_not_copy(tmp_path):
    state = tmp_path / "state"
    inv = Inventory(state)
    path = state / "inventory.json"
    fill(inv, "a")
    first = os.stat(path).st_ino
    fill(inv, "a", "b")
    assert os.stat(state / "inventory.json.1").st_ino == first  # the same file, renamed: nothing copied
    for count in range(3, 7):
        fill(inv, *[f"v{i}" for i in range(count)])
    kept = sorted(p.name for p in state.iterdir() if p.name.startswith("inventory.json."))
    assert kept == [f"inventory.json.{n}" for n in range(1, KEEP + 1)]
    assert [len(vm_names_in(state / f"inventory.json.{n}")) for n in (1, 2, 3)] == [5, 4, 3]
    inv.close()


@pytest.mark.parametrize(("damage", "problem"), [
    (lambda p: p.write_bytes(b""), "is empty"),
    (lambda p: p.write_bytes(b"  \n"), "is empty"),
    (lambda p: p.write_bytes(p.read_bytes()[:100]), "not valid JSON"),
    (lambda p: p.unlink(), "is missing, though earlier versions are kept beside it"),
], ids=["empty", "blank", "cut", "deleted"])
def test_a_damaged_file_names_the_newest_good_copy_and_the_command_that_restores_it(worked, damage, problem):
    path = worked / "inventory.json"
    before = path.read_bytes()
    damage(path)
    damaged = path.read_bytes() if path.exists() else None
    inv = Inventory(worked)
    with pytest.raises(InventoryCorrupt) as caught:
        inv.vms()
    message = str(caught.value)
    assert message.startswith(f"{path}: {problem}")
    assert f". The newest good copy is {worked}/inventory.json.1 (written " in message
    command = message.split("restore it with: ", 1)[1]
    assert command == f"cp -p {worked}/inventory.json.1 {path}"
    with pytest.raises(InventoryCorrupt):  # no write replaces what the operator must restore
        fill(inv, "new")
    assert (path.read_bytes() if path.exists() else None) == damaged
    inv.close()

    subprocess.run(shlex.split(command), check=True, timeout=30)
    restored = Inventory(worked)
    assert "host1" in restored.maintenance()  # the mark made before the last write survives
    assert restored.vm_names() == ["vm0", "vm1", "vm2", "vm3"]
    assert before != b""
    restored.close()


def test_a_damaged_copy_is_passed_over_for_an_older_good_one(worked):
    (worked / "inventory.json").write_bytes(b"")
    (worked / "inventory.json.1").write_bytes(b'{"vms": ')
    with pytest.raises(InventoryCorrupt, match=r"The newest good copy is .*inventory\.json\.2 "):
        Inventory(worked).vms()


def test_with_no_good_copy_the_error_says_so(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    (state / "inventory.json").write_bytes(b"")
    with pytest.raises(InventoryCorrupt, match=r"inventory.json: is empty\. No good earlier version is kept"):
        Inventory(state).vms()


def test_a_new_state_folder_is_a_new_inventory(tmp_path):
    inv = Inventory(tmp_path / "fresh")
    assert inv.vms() == []
    fill(inv, "a")
    assert inv.vm_names() == ["a"]
    inv.close()


def test_the_command_line_reports_damage_in_one_line_and_exit_2(tmp_path):
    state = tmp_path / "state"
    command = [sys.executable, "-m", "granja", "--state", str(state), "ask", "where is ldap3"]
    subprocess.run(command, check=True, capture_output=True, timeout=120)  # makes the demo farm
    subprocess.run([*command[:-1], "refresh"], check=True, capture_output=True, timeout=120)  # write again
    (state / "inventory.json").write_bytes(b"")
    run = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert run.stderr.startswith(f"granja: {state}/inventory.json: is empty. The newest good copy is ")
    assert run.stderr.count("\n") == 1
    assert "Traceback" not in run.stderr
