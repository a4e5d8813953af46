"""`granja chat` stopped from outside: SIGTERM (`timeout`, systemd) and SIGHUP (a dropped SSH session).

At the prompt either ends the chat cleanly (history kept, no traceback, exit 4). During a confirmed
change either stops it as Ctrl-C does (summary, audit `interrupted`, journal settled, exit 4) and
then ends the chat. A hang-up is the real one: the test closes the terminal and the kernel sends
SIGHUP; writing to the terminal fails (EIO) from then on, and nothing may crash on that.
"""

from __future__ import annotations

import contextlib
import select
import signal
import time
from collections.abc import Iterator
from pathlib import Path

from inventory import Inventory
from inventory.journal import Journal
from tests.interrupt.harness import copies, defined_twice, invariant_problems, step_count
from tests.interrupt.test_chat_prompt import Terminal
from tests.signal_routing import send_off_main


def _stopped(pid: int, timeout: float = 30) -> None:
    """Wait until the process is stopped (SIGSTOP at a step: the test acts at that exact point)."""
    deadline = time.monotonic() + timeout
    while True:
        with open(f"/proc/{pid}/stat") as stat:
            if stat.read().rsplit(")", 1)[1].split()[0] == "T":
                return
        assert time.monotonic() < deadline, "the process never reached its step"
        select.poll().poll(10)  # look again in 10 ms (the condition above has the deadline)


def _history(state: Path) -> str:
    path = state / "chat_history"
    return path.read_text() if path.exists() else ""


def _first_move(state: Path, scratch: Path) -> int:
    """The step right after the first VM of `evacuate host12` was defined on its new host."""
    steps = step_count(state, scratch, "ask", "--yes", "evacuate host12")
    return next(n for n, what in enumerate(steps, 1) if "after define" in what)


def _settled_as_interrupted(state: Path, before: dict[str, list[tuple[str, str]]]) -> None:
    entry = Inventory(state).audit(limit=1)[0]
    assert (entry.command, entry.outcome) == ("evacuate host12", "interrupted"), entry
    assert "not tried" in entry.detail
    assert Journal(state / "journal").orphans() == []
    assert invariant_problems(state) == []
    assert defined_twice(state) == {}
    after = copies(state)
    assert {n: [s for _h, s in w] for n, w in after.items()} == {
        n: [s for _h, s in w] for n, w in before.items()}


@contextlib.contextmanager
def _chat(state: Path, tmp_path: Path, env: dict[str, str] | None = None) -> Iterator[Terminal]:
    """`granja chat` on a terminal, its stderr in a file (it outlives a hang-up); killed if a check failed."""
    with open(tmp_path / "stderr", "w") as stderr:
        term = Terminal("--state", str(state), "chat", stderr=stderr, env=env)
        try:
            yield term
        finally:
            if term.process.poll() is None:
                term.process.kill()
                term.process.wait()


def _no_errors(tmp_path: Path) -> None:
    errors = (tmp_path / "stderr").read_text()
    assert "Traceback" not in errors, errors
    assert "Exception" not in errors, errors


def _asked_then_idle(term: Terminal) -> int:
    """Ask something, wait for the next prompt and for the chat to wait for a key; where the answer is."""
    term.until("granja> ")
    term.type("where is ldap3\r")
    mark = term.until("ldap3 is on host").index("ldap3 is on host")
    term.until("granja> ", after=mark)
    term.idle()
    return mark


def test_sigterm_at_the_prompt_ends_the_chat_cleanly(state, tmp_path):
    with _chat(state, tmp_path) as term:
        mark = _asked_then_idle(term)
        where = send_off_main(term.process.pid, signal.SIGTERM)
        term.until("granja: SIGTERM: the chat ends.", after=mark, why=where)
        assert term.close() == 4
    _no_errors(tmp_path)
    assert "where is ldap3" in _history(state)


def test_a_hang_up_at_the_prompt_ends_the_chat_cleanly(state, tmp_path):
    with _chat(state, tmp_path) as term:
        _asked_then_idle(term)
        term.hang_up()
        assert term.close() == 4
    _no_errors(tmp_path)
    assert "where is ldap3" in _history(state)


def test_a_hang_up_during_a_change_stops_it_as_ctrl_c_does(state, tmp_path):
    """The SSH session drops while `evacuate host12` runs: the process is held at a known step
    (SIGSTOP), the terminal is closed there (the kernel sends SIGHUP and SIGCONT), and every write
    to the terminal from then on fails with EIO."""
    at = _first_move(state, tmp_path)
    before = copies(state)
    with _chat(state, tmp_path, env={"GRANJA_SIGNAL_AT": f"{at}:STOP"}) as term:
        term.until("granja> ")
        term.type("evacuate host12\r")
        term.until("confirm? [y/N] ")
        term.type("y\r")
        _stopped(term.process.pid)
        term.hang_up()
        assert term.close() == 4
    _no_errors(tmp_path)
    _settled_as_interrupted(state, before)
    assert "evacuate host12" in _history(state)


def test_sigterm_during_a_change_in_the_chat_stops_it_then_ends_the_chat(state, tmp_path):
    at = _first_move(state, tmp_path)
    before = copies(state)
    with _chat(state, tmp_path, env={"GRANJA_SIGNAL_AT": f"{at}:TERM"}) as term:
        term.until("granja> ")
        mark = len(term.seen)
        term.type("evacuate host12\r")
        term.until("confirm? [y/N] ")
        term.type("y\r")
        term.until("Evacuation of host12 interrupted: 0 moved, 2 not tried", after=mark)  # undone
        assert term.close() == 4  # no 'quit' typed: SIGTERM ends the chat once the change is settled
    assert "… stopping: the step in progress finishes (or is undone); no further step starts." in term.seen
    _no_errors(tmp_path)
    _settled_as_interrupted(state, before)
