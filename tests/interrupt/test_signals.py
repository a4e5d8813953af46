"""SIGINT, SIGTERM and SIGHUP at every step of an evacuation, a migration and rolling runs; SIGTERM
to the bot mid-change.

Ctrl-C (SIGINT), `timeout` or systemd (SIGTERM) and a dropped SSH session (SIGHUP) stop a console
change alike. The signal is sent by the process to itself at its Nth mutating step (hypervisor/crashpoint.py),
so the front end's real handler runs at a known point. After each: the process ends with the
usual summary and exit code 4 (or 0 when everything was already done), no VM is defined twice
or left running in two places, every VM is as it was or where it moved, the journal is settled
and the audit says `interrupted`.
"""

from __future__ import annotations

import getpass
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.slack.messages import CONFIRM
from inventory import Inventory
from inventory.journal import Journal
from tests.interrupt.harness import (
    copies,
    copy_state,
    defined_twice,
    granja,
    invariant_problems,
    step_count,
    volumes,
)
from tests.slack.driver import SECRET, Sender
from tests.slack.standin import SlackStandIn
from tests.slack.test_cli import free_port


def last_outcome(state: Path) -> str:
    """The outcome of the latest audit entry, or 'no audit entry'."""
    entries = Inventory(state).audit(limit=1)
    return entries[0].outcome if entries else "no audit entry"


def after_signal(state: Path, scratch: Path, command: str, number: int, name: str = "INT") -> list[str]:
    copy = copy_state(state, scratch / f"n{number}")
    before = copies(copy)
    run = granja(copy, "ask", "--yes", command, env={"GRANJA_SIGNAL_AT": f"{number}:{name}"})
    where = f"SIG{name} at step {number}"
    problems = [f"{where}: {p}" for p in invariant_problems(copy)]
    if "Traceback" in run.stderr:
        problems.append(f"{where}: {run.stderr}")
    outcome = last_outcome(copy)
    if run.returncode == 4:
        if "interrupted" not in run.stdout.lower() or outcome != "interrupted":
            problems.append(f"{where}: exit 4 but no interruption said/audited: {run.stdout} {outcome}")
    elif run.returncode != 0 or outcome != "ok":
        problems.append(f"{where}: exit {run.returncode}, audit {outcome}: {run.stdout}")
    if defined_twice(copy):
        problems.append(f"{where}: defined twice: {defined_twice(copy)}")
    after = copies(copy)
    for name, was in before.items():  # what ran still runs, what was off is still off, wherever it is
        now = after.get(name, [])
        if [s for _h, s in now] != [s for _h, s in was]:
            problems.append(f"{where}: {name} was {was}, now {now}")
    if Journal(copy / "journal").orphans():
        problems.append(f"{where}: the journal was left open")
    return problems


# Every command with SIGINT; SIGTERM and SIGHUP (the same handler) with an evacuation and a migration.
@pytest.mark.parametrize(("command", "name"), [
    *((command, "INT") for command in ("evacuate host12", "migrate web1 to host09", "rolling reboot smtp",
                                       "rolling migrate web off host09 host06")),
    *((command, name) for name in ("TERM", "HUP")
      for command in ("evacuate host12", "migrate web1 to host09"))])
def test_a_signal_at_every_step_stops_cleanly(state, tmp_path, command, name):
    steps = step_count(state, tmp_path, "ask", "--yes", command)
    with ThreadPoolExecutor(max_workers=3) as pool:
        found = pool.map(lambda n: after_signal(state, tmp_path, command, n, name), range(1, len(steps) + 1))
        problems = [problem for problems in found for problem in problems]
    assert problems == []


@pytest.mark.parametrize(("command", "commit", "name"), [("create ldap6", "before start ldap6", "INT"),
                                                          ("delete ci", "before undefine ci", "INT"),
                                                          ("create ldap6", "before start ldap6", "TERM"),
                                                          ("delete ci", "before undefine ci", "HUP")])
def test_a_signal_before_create_or_delete_commits_leaves_nothing_after_it_finishes(state, tmp_path, command,
                                                                                   commit, name):
    """Ctrl-C while a VM is being made (volumes cloned, defined, not yet started) undoes it all; from
    the step that commits the change (starting the new VM, undefining the old) it is finished."""
    steps = step_count(state, tmp_path, "ask", "--yes", command)
    point = next(n for n, what in enumerate(steps, 1) if what.endswith(commit))

    def after(number: int) -> list[str]:
        copy = copy_state(state, tmp_path / f"n{number}")
        vms, disks = copies(copy), volumes(copy)
        run = granja(copy, "ask", "--yes", command, env={"GRANJA_SIGNAL_AT": f"{number}:{name}"})
        outcome = last_outcome(copy)
        where = f"SIG{name} at step {number} ({steps[number - 1]})"
        problems = [f"{where}: {run.stderr}"] if "Traceback" in run.stderr else []
        if Journal(copy / "journal").orphans():
            problems.append(f"{where}: the journal was left open")
        if number < point:
            if (run.returncode, outcome) != (4, "interrupted") or "interrupted" not in run.stdout:
                problems.append(f"{where}: exit {run.returncode}, audit {outcome}: {run.stdout}")
            if copies(copy) != vms or volumes(copy) != disks:
                problems.append(f"{where}: something was left: {run.stdout}")
        elif (run.returncode, outcome) != (0, "ok") or copies(copy) == vms or volumes(copy) == disks:
            problems.append(f"{where}: not finished: exit {run.returncode}: {run.stdout}")
        return problems

    with ThreadPoolExecutor(max_workers=3) as pool:
        found = pool.map(after, range(1, len(steps) + 1))
        assert [problem for problems in found for problem in problems] == []


def test_sigterm_to_the_bot_mid_evacuation_finishes_the_step_and_exits_4(state):
    config = state / "demo" / "farm.toml"
    config.write_text(config.read_text() + '\n[channels.C1]\nrole = "admin"\n')
    before = copies(state)
    slack = SlackStandIn()
    slack.thread.start()
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "GRANJA_"))}
    env = {**clean, "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET,
           "SLACK_API_URL": slack.url, "GRANJA_SIGNAL_AT": "6:TERM"}  # step 6: inside the first move
    process = subprocess.Popen([sys.executable, "-m", "granja", "--state", str(state), "slack", "--host",
                                "127.0.0.1", "--port", str(port)], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().startswith("granja slack: ")
        sender = Sender(port, response_base=slack.url)
        user = getpass.getuser()
        assert sender.mention(user, "evacuate host12", channel="C1").status == 200
        preview = slack.wait_for("chat.postMessage", lambda c: "evacuate host12" in c.text
                                 and c.body.get("blocks"), timeout=30)[-1]
        assert sender.click(user, preview, CONFIRM, channel="C1").status == 200
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
        slack.shutdown()
        slack.server_close()
    assert process.returncode == 4, out + err
    assert "SIGTERM: stopping" in out
    assert "Traceback" not in err
    entry = next(e for e in Inventory(state).audit(limit=5) if e.command == "evacuate host12")
    assert entry.outcome == "interrupted"
    assert "not tried" in entry.detail
    assert any("interrupted" in call.text for call in slack.calls if call.method in ("chat.update",
                                                                                      "chat.postMessage"))
    assert invariant_problems(state) == []
    assert defined_twice(state) == {}
    after = copies(state)
    assert {n: [s for _h, s in w] for n, w in after.items()} == {
        n: [s for _h, s in w] for n, w in before.items()}
    assert Journal(state / "journal").orphans() == []


def test_a_second_ctrl_c_says_what_the_wind_down_waits_for(state, tmp_path):
    steps = step_count(state, tmp_path, "ask", "--yes", "evacuate host12")
    first = next(n for n, what in enumerate(steps, 1) if "before shutdown" in what)
    twice = f"{first}:INT,{first + 1}:INT"  # Ctrl-C while the first VM shuts down, and again
    run = granja(state, "ask", "--yes", "evacuate host12", env={"GRANJA_SIGNAL_AT": twice})
    assert run.returncode == 4, run.stdout + run.stderr
    assert "… stopping: the step in progress finishes (or is undone); no further step starts." in run.stdout
    assert "… still stopping, waiting for: evacuate host12: 1/2 " in run.stdout, run.stdout
    assert "Evacuation of host12 interrupted: 1 moved, 1 not tried" in run.stdout
