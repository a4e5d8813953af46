"""Who is speaking on the console: the OS account of the process, never what the environment claims."""

from __future__ import annotations

import os
import pwd
import re
import subprocess
import sys

import pytest

from inventory import Inventory

ME = pwd.getpwuid(os.getuid()).pw_name


def granja(state, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    config = state / "demo" / "farm.toml"
    return subprocess.run([sys.executable, "-m", "granja", "--config", str(config), "--state", str(state),
                           *args], env={**os.environ, **(env or {})}, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=120, check=False)


def set_role(state, user: str, role: str) -> None:
    config = state / "demo" / "farm.toml"
    text = config.read_text()
    text, found = re.subn(rf'(\[users\.{re.escape(user)}\]\nrole = )"\w+"', rf'\1"{role}"', text)
    config.write_text(text if found else text + f'\n[users.{user}]\nrole = "{role}"\n')


def last_entry(state):
    inventory = Inventory(state)
    try:
        return inventory.audit(limit=1)[0]
    finally:
        inventory.close()


@pytest.fixture
def viewer_me(state):
    """This process's account is a viewer; carol is an admin."""
    set_role(state, ME, "viewer")
    set_role(state, "carol", "admin")
    return state


def test_logname_and_user_naming_an_admin_change_nothing(viewer_me):
    fake = {"LOGNAME": "carol", "USER": "carol", "LNAME": "carol", "USERNAME": "carol"}
    result = granja(viewer_me, "ask", "--yes", "destroy web1", env=fake)
    assert result.returncode == 1
    assert "'destroy' needs the admin role; your role is viewer" in result.stdout
    entry = last_entry(viewer_me)
    assert (entry.user, entry.outcome) == (ME, "refused")
    assert "destroy" not in granja(viewer_me, "ask", "where is web1").stdout.lower()


def test_as_is_refused_to_a_non_admin(viewer_me):
    result = granja(viewer_me, "ask", "--as", "carol", "--yes", "destroy web1")
    assert result.returncode == 2
    assert result.stderr.strip() == (f"granja: --as needs the admin role; {ME}'s role is viewer. "
                                     "Run the command as yourself.")
    assert "web1 is on" in granja(viewer_me, "ask", "where is web1").stdout


def test_an_admin_acting_as_another_user_is_recorded_as_both(state):
    set_role(state, ME, "admin")
    result = granja(state, "ask", "--as", "bob", "where is web1")
    assert result.returncode == 0, result.stderr
    entry = last_entry(state)
    assert (entry.user, entry.extra["os_user"]) == ("bob", ME)
    shown = granja(state, "ask", "audit").stdout
    assert f"{ME} as bob" in shown


@pytest.mark.parametrize("command", ["audit", "where is web1"])
def test_a_closed_pipe_ends_the_command_quietly(state, command):
    """`granja ask audit | head -1`: the reader went away; no BrokenPipe traceback, whatever the timing."""
    granja(state, "ask", "where is web1")  # something in the audit
    read, write = os.pipe()
    os.close(read)  # the reader is gone before granja writes a byte: the worst timing, every time
    try:
        config = str(state / "demo" / "farm.toml")
        result = subprocess.run([sys.executable, "-m", "granja", "--config", config, "--state", str(state),
                                 "ask", command], stdout=write, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, text=True, timeout=120, check=False)
    finally:
        os.close(write)
    assert result.stderr == ""
    assert result.returncode == 141  # as a shell reports a command ended by SIGPIPE
