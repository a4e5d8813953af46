"""Exit codes of `granja ask`, as scripts see them: real processes on a copy of the demo farm."""

from __future__ import annotations

import enum
import subprocess
import sys
from dataclasses import dataclass

import pytest

from bot.exit_codes import check_exit_code


@pytest.fixture
def ask(state):
    def run(*words: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "granja", "--state", str(state), "ask", *words],
                              capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)

    return run


@pytest.mark.parametrize(
    ("words", "code", "says"),
    [
        (["where is ldap3"], 0, "ldap3 is on"),
        (["--yes", "start ldap1"], 0, "ldap1 is already running"),  # already in that state: done
        (["--yes", "suspend ldap1"], 0, "ldap1 paused on"),
        (["where is nosuchvm"], 1, "no VM"),
        (["suspend ldap1"], 1, "not confirmed (add --yes to confirm)"),  # no --yes, no one to ask
        (["fly me to the moon"], 2, "I don't know 'fly'"),
        (["migrate"], 2, "Usage: migrate VM [to HOST] [force]"),
        (["--as", "alice", "--yes", "shutdown ldap1"], 3, "needs the operator role"),
        (["--yes", "reboot wiki"], 3, "Cannot reboot wiki: it is paused"),
    ],
)
def test_exit_codes_table(ask, words, code, says):
    done = ask(*words)
    assert (done.returncode, done.stderr) == (code, "")
    assert says.lower() in done.stdout.lower()


def test_check_follows_the_nagios_convention(ask, engine):
    from inventory.health import findings

    found = findings(engine.inventory, limits=engine.config.placement.limits, pinned=engine.config.pinned)
    done = ask("check")
    assert found, "the demo farm has something to report; this test needs it"
    # The demo's ftp cluster runs 1 of 2 members: the watcher's cluster_degraded is critical.
    assert done.returncode == 2, done.stdout
    assert "critical  cluster_degraded  ftp" in done.stdout
    assert ask("--yes", "start ftp2").returncode == 0
    assert ask("check").returncode == 1  # host07's bond still lacks a link: a warning


@dataclass(frozen=True)
class _Finding:
    severity: str


class _Severity(enum.Enum):
    WARNING = "warning"
    CRITICAL = "critical"


def test_check_exit_code_is_two_for_a_critical_finding():
    assert check_exit_code([]) == 0
    assert check_exit_code([_Finding("warning")]) == 1
    assert check_exit_code([_Finding("warning"), _Finding("critical")]) == 2
    assert check_exit_code([_Finding(_Severity.WARNING)]) == 1  # type: ignore[arg-type]
    assert check_exit_code([_Finding(_Severity.CRITICAL)]) == 2  # type: ignore[arg-type]


def test_an_interrupted_operation_exits_4():
    from bot.exit_codes import exit_code
    from bot.results import Outcome, Reply, Text

    assert exit_code(Reply(Outcome.INTERRUPTED, Text("stopped"), "stopped")) == 4
