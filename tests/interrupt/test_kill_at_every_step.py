"""kill -9 at every mutating step of migrate, evacuate, create, delete, recover and rolling runs, then look.

For each command, a first run on a copy of the demo farm counts its steps (hypervisor/crashpoint.py:
every change to a simulated host, before and after, and every journal write). Then, for every N,
a fresh copy runs the command in a separate process that dies at step N as with `kill -9`. After
each kill: at most one copy of each VM runs; the next granja process reports the interrupted
command from its journal (and audits it); `repair` leaves one definition per VM.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from inventory import Inventory
from inventory.journal import Journal
from tests.interrupt.harness import copy_state, defined_twice, granja, invariant_problems, step_count
from tests.scenarios.test_unreachable import break_hosts

KILLED = 137  # what crashpoint's os._exit returns, as a SIGKILL'd process would report 128 + 9


def after_kill(state: Path, scratch: Path, words: tuple[str, ...], number: int) -> list[str]:
    """Kill the command at step `number` on a fresh copy; the broken invariants, as sentences."""
    copy = copy_state(state, scratch / f"n{number}")
    command = words[-1]
    run = granja(copy, *words, env={"GRANJA_CRASH_AT": str(number)})
    problems = [] if run.returncode == KILLED else [f"step {number}: exit {run.returncode}: {run.stdout}"]
    problems += [f"step {number}: {p}" for p in invariant_problems(copy)]
    twice = defined_twice(copy)
    first = granja(copy, "refresh")  # any process that starts reads the journal
    journaled = (copy / "journal").is_dir() and any((copy / "journal").glob("*.json"))
    if journaled:
        if f"An interrupted `{command}` by " not in first.stdout:
            problems.append(f"step {number}: no report of the interrupted command: {first.stdout}")
        entries = [e for e in Inventory(copy).audit(limit=5) if e.outcome == "interrupted"]
        if not entries or entries[0].command != command:
            problems.append(f"step {number}: no 'interrupted' audit entry for {command}")
        for name in twice:
            if f"Say 'repair {name}'" not in first.stdout:
                problems.append(f"step {number}: the report does not offer 'repair {name}': {first.stdout}")
    elif twice:
        problems.append(f"step {number}: {sorted(twice)} defined twice, and no journal says why")
    for name in twice:
        repaired = granja(copy, "ask", "--yes", f"repair {name}")
        if repaired.returncode != 0:
            problems.append(f"step {number}: repair {name} failed: {repaired.stdout}")
    if defined_twice(copy):
        problems.append(f"step {number}: still defined twice after repair: {defined_twice(copy)}")
    if Journal(copy / "journal").orphans():
        problems.append(f"step {number}: the journal entry is still open after it was reported")
    return problems


@pytest.mark.parametrize("command", [
    "migrate web1 to host09",
    "evacuate host12",
    "create ldap6",
    "delete ci",
    "recover host14",
    "rolling reboot smtp",
    "rolling migrate web off host09 host06",
])
def test_kill_at_every_step_leaves_one_running_copy_a_journal_and_a_repairable_farm(state, tmp_path, command):
    if command.startswith("recover"):
        break_hosts(state, host14="test:///nonexistent/host14.xml")
    words = ("ask", "--yes", command)
    steps = step_count(state, tmp_path, *words)
    assert any("journal" in step for step in steps), steps
    assert any("before" in step for step in steps), steps
    with ThreadPoolExecutor(max_workers=3) as pool:
        found = pool.map(lambda n: after_kill(state, tmp_path, words, n), range(1, len(steps) + 1))
        problems = [problem for problems in found for problem in problems]
    assert problems == []
