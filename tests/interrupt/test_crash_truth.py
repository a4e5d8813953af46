"""After a kill at any step of evacuate or migrate, the next granja process makes the inventory true at once.

The process that finds the interrupted operation's journal records what the hosts now say for that
operation's VMs, credited to the operation ("evacuate host07 (interrupted)", by its user): `list`
is right in that first process, no later command (`list`, `where is`, `refresh`) is blamed for
the crash's changes, `check` names the stray copies, and `repair` keeps the copy the journal's
steps say the operation had moved the VM to, whatever command looked at it first.
"""

from __future__ import annotations

import getpass
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from inventory import Inventory
from tests.interrupt.harness import copies, copy_state, granja, step_count

KILLED = 137
PRISTINE = "first refresh"  # the demo's own first refresh created every VM


def listed(text: str) -> dict[str, tuple[str, str]]:
    """`list` output as VM -> (host, state)."""
    rows: dict[str, tuple[str, str]] = {}
    for line in text.splitlines():
        cells = line.split()
        if len(cells) >= 3 and cells[1].startswith("host") and cells[0] != "VM":
            rows[cells[0]] = (cells[1], " ".join(cells[2:4]) if cells[2] == "shut" else cells[2])
    return rows


def truth_after_kill(state: Path, scratch: Path, words: tuple[str, ...], number: int) -> list[str]:
    """Kill the command at step `number`; what the next processes say wrongly, as sentences."""
    copy = copy_state(state, scratch / f"n{number}")
    command = words[-1]
    run = granja(copy, *words, env={"GRANJA_CRASH_AT": str(number)})
    if run.returncode != KILLED:
        return [f"step {number}: exit {run.returncode}: {run.stdout}"]
    live = copies(copy)
    first = granja(copy, "ask", "list")  # the first process after the crash reads the journal
    rows = listed(first.stdout)
    problems: list[str] = []
    for name, where in live.items():
        running = [h for h, s in where if s == "running"]
        if name not in rows:
            problems.append(f"step {number}: {name} missing from list: {first.stdout}")
            continue
        host, _state = rows[name]
        if running and (host, rows[name][1]) != (running[0], "running"):
            problems.append(f"step {number}: list says {name} {rows[name]}, it runs on {running[0]}")
        if not running and host not in {h for h, _s in where}:
            problems.append(f"step {number}: list says {name} on {host}; it is defined on {where}")
    for change in Inventory(copy).changes(limit=500):
        if change.command not in (PRISTINE, command, f"{command} (interrupted)"):
            problems.append(f"step {number}: {change.vm} {change.path} credited to {change.command!r}")
        elif change.command != PRISTINE and change.user != getpass.getuser():
            problems.append(f"step {number}: {change.vm} {change.path} credited to user {change.user!r}")
    twice = {name: where for name, where in live.items() if len(where) > 1}
    if twice:
        check = granja(copy, "ask", "check")  # no refresh in between
        for name, where in twice.items():
            hosts = ", ".join(sorted(h for h, _s in where))
            if f"{name} is defined on {hosts}: say 'repair {name}'" not in check.stdout:
                problems.append(f"step {number}: check does not name the stray {name}: {check.stdout}")
    for name in twice:
        plain = granja(copy, "ask", f"repair {name}")  # the preview only: nothing is confirmed
        looked = copy_state(copy, scratch / f"n{number}-where-{name}")
        granja(looked, "ask", f"where is {name}")
        after_where = granja(looked, "ask", f"repair {name}")
        if keeps(plain.stdout) != keeps(after_where.stdout):
            problems.append(f"step {number}: repair {name} keeps {keeps(plain.stdout)}, but after "
                            f"'where is {name}' {keeps(after_where.stdout)}")
    return problems


def keeps(preview: str) -> str:
    """The host a repair preview keeps ("keep its … definition on HOST (why)")."""
    _head, _, rest = preview.partition(" definition on ")
    return rest.split(";")[0]


@pytest.mark.parametrize("command", ["evacuate host12", "migrate webmail3 to host15"])
def test_after_a_kill_at_every_step_list_history_and_check_are_true_at_once(state, tmp_path, command):
    words = ("ask", "--yes", command)
    steps = step_count(state, tmp_path, *words)
    with ThreadPoolExecutor(max_workers=3) as pool:
        found = pool.map(lambda n: truth_after_kill(state, tmp_path, words, n), range(1, len(steps) + 1))
        problems = [problem for problems in found for problem in problems]
    assert problems == []


def at_step(steps: list[str], what: str) -> int:
    """The number of the first step named `what`."""
    return steps.index(what) + 1


def test_history_credits_the_interrupted_evacuation_not_the_next_command(state, tmp_path):
    words = ("ask", "--yes", "evacuate host07")
    steps = step_count(state, tmp_path, *words)
    number = at_step(steps, "host07: before undefine webmail3")  # running on host15, shut off on host07
    copy = copy_state(state, tmp_path / "killed")
    assert granja(copy, *words, env={"GRANJA_CRASH_AT": str(number)}).returncode == KILLED
    first = granja(copy, "ask", "list webmail*")
    assert "webmail3 is running on host15 and also defined, shut off, on host07" in first.stdout
    assert listed(first.stdout)["webmail3"] == ("host15", "running"), first.stdout
    granja(copy, "ask", "where is webmail3")
    granja(copy, "ask", "refresh")
    history = granja(copy, "ask", "history webmail3").stdout
    user = getpass.getuser()
    lines = history.splitlines()
    assert f"{user}  evacuate host07 (interrupted)  placement: host07 → host15" in lines[2], history
    assert f"{user}  evacuate host07 (interrupted)  autostart: True → False" in lines[3], history
    assert len(lines) == 5, history  # nothing credited to where or refresh
    assert "first refresh" in lines[4], history


@pytest.mark.parametrize(("crash_at", "kept"), [
    # The journal's step "defined ftp2 on host03" was written: the evacuation had moved it there.
    ("host07: before undefine ftp2", "host03 (where the interrupted 'evacuate host07' had moved it)"),
    # Killed as it wrote that step: the journal never says ftp2 moved; it stays where it was.
    ("host03: after define", "host07 (where the inventory has it)"),  # host03's first define is ftp2's
])
def test_repair_keeps_the_copy_the_journal_says_whoever_looked_first(state, tmp_path, crash_at, kept):
    words = ("ask", "--yes", "evacuate host07")
    steps = step_count(state, tmp_path, *words)
    number = at_step(steps, crash_at) + (1 if crash_at.endswith("define") else 0)
    if crash_at.endswith("define"):
        assert steps[number - 1].startswith("journal"), steps[number - 1]
    for looked_first in ("", "where is ftp2", "refresh"):
        copy = copy_state(state, tmp_path / f"killed-{len(looked_first)}")
        assert granja(copy, *words, env={"GRANJA_CRASH_AT": str(number)}).returncode == KILLED
        assert sorted(copies(copy)["ftp2"]) == [("host03", "shut off"), ("host07", "shut off")]
        if looked_first:
            granja(copy, "ask", looked_first)
        preview = granja(copy, "ask", "repair ftp2").stdout
        assert f"keep its shut off definition on {kept}" in preview, (looked_first, preview)
