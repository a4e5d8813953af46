"""The chat as a shell, through a real terminal: completion, aliases, help, colour, typed confirmation."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.console.terminal import Terminal

PROMPT = "granja> "


@pytest.fixture
def term(tmp_path: Path, state: Path) -> Iterator[Terminal]:
    terminal = Terminal(tmp_path, state)
    yield terminal
    terminal.close()


def _last_line(screen: str) -> str:
    return [line.rstrip() for line in screen.splitlines() if line.strip()][-1]


def test_tab_completes_commands_then_vm_and_host_names(term):
    term.type("mig", "Tab")
    term.wait_for(lambda s: _last_line(s) == f"{PROMPT}migrate", what="'mig' completed to 'migrate '")
    term.type("ldap", "Tab", "Tab")  # ambiguous: the second Tab lists the candidates
    screen = term.wait_for(lambda s: "ldap5" in s, what="the ldap VMs listed")
    assert re.search(r"ldap1\s+ldap2\s+ldap3\s+ldap4\s+ldap5", screen), screen
    term.type("3", "Tab")
    term.wait_for(lambda s: _last_line(s) == f"{PROMPT}migrate ldap3", what="'ldap3 ' completed")
    term.type("t", "Tab", "host0")
    term.type("", "Tab", "Tab")
    screen = term.wait_for(lambda s: "host09" in s, what="host names")
    listed = screen.split("migrate ldap3 to host0", 1)[1]
    assert re.search(r"host01\s+host02\s.*host09", listed), screen


def test_completion_offers_cluster_template_and_network_names(term):
    term.type("list in we", "Tab")
    term.wait_for(lambda s: _last_line(s) == f"{PROMPT}list in web", what="the common part 'web'")
    term.type("", "Tab", "Tab")
    screen = term.wait_for(lambda s: "webmail" in s, what="clusters beginning with 'we'")
    assert re.search(r"web\s+webmail", screen), screen
    term.type("", "C-u")
    term.type("create test1 from i", "Tab")
    term.wait_for(lambda s: _last_line(s) == f"{PROMPT}create test1 from imap", what="template imap")
    term.type("", "C-u")
    term.type("attach nic web2 vlan ma", "Tab")
    term.wait_for(lambda s: _last_line(s) == f"{PROMPT}attach nic web2 vlan mail", what="network mail")


def test_read_only_aliases_answer_and_never_suggest_a_change(term):
    screen = term.ask("status ldap3")
    answer = screen.split("status ldap3")[-1]
    assert "ldap3  (running on host" in answer
    assert "Did you mean" not in answer
    answer = term.ask("stat ldap3").split("stat ldap3")[-1]
    assert "Did you mean 'show'?" in answer
    assert "start" not in answer
    answer = term.ask("ls web*").split("ls web*")[-1]
    assert "VMs named web* (9):" in answer
    assert "ldap" not in answer


def test_list_takes_the_state_as_the_table_prints_it_and_filters_combine(term):
    term.ask("shutdown ldap3", until="[y/N]")
    term.ask("y")
    answer = term.ask("list shut off").split("list shut off")[-1]
    assert re.search(r"ldap3\s+host\d+\s+shut off", answer), answer
    assert "running" not in answer
    for said in ("list stopped", "list off", "vms stopped"):
        assert re.search(r"ldap3\s+host\d+\s+shut off", term.ask(said).split(said)[-1])
    answer = term.ask("list running on host05").split("list running on host05")[-1]
    assert "VMs on host05 that are running" in answer
    rows = [line for line in answer.splitlines() if re.match(r"^\w+\s+host\d\d\s", line)]
    assert rows, answer
    assert all(" host05 " in row and " running " in row for row in rows), answer


def test_memory_synonym_and_a_size_without_unit_asks_for_the_unit(term):
    answer = term.ask("set web2 mem 3").split("set web2 mem 3")[-1]
    assert "'3' has no unit: say 'set web2 memory 3G' for 3 GiB, or 'set web2 memory 3M' for 3 MiB." in answer
    assert "About to" not in answer
    answer = term.ask("set web2 ram 6G", until="[y/N]").split("set web2 ram 6G")[-1]
    assert "About to: web2 (running on host" in answer
    assert "memory 4 GiB → 6 GiB" in answer
    term.ask("n")


def test_destroy_asks_for_the_vm_name_to_be_typed(term):
    answer = term.ask("destroy ldap3", until="anything else cancels").split("destroy ldap3")[-1]
    assert "Type ldap3 to confirm" in answer
    assert "[y/N]" not in answer
    answer = term.ask("y").split("anything else cancels: y")[-1]
    assert "Nothing was done: 'destroy ldap3' was not confirmed." in answer
    term.ask("destroy ldap3", until="anything else cancels")
    answer = term.ask("ldap3").split("anything else cancels: ldap3")[-1]
    assert "ldap3 forced off on host" in answer


def test_help_is_grouped_and_fits_a_narrow_terminal(tmp_path, state):
    term = Terminal(tmp_path, state, width=64)
    try:
        screen = term.ask("help")
    finally:
        term.close()
    help_text = screen.split(f"{PROMPT}help")[-1]
    groups = [line for line in help_text.splitlines() if line.endswith(":") and not line.startswith(" ")]
    assert groups == ["Commands you may run ('help COMMAND' explains one):", "Ask (changes nothing):",
                      "Change the farm (operators):", "Admin (admins only):"]
    assert max(len(line) for line in help_text.splitlines()) <= 64
    ask = help_text.split("Ask (changes nothing):")[1].split("Change the farm")[0]
    assert "where is VM" in ask
    assert "start VM" not in ask


def test_colour_on_a_terminal_and_off_with_no_color_or_a_pipe(tmp_path, state):
    term = Terminal(tmp_path / "a", state) if (tmp_path / "a").mkdir() is None else None
    assert term is not None
    try:
        term.ask("where is ldap3")
        screen = term.screen(escapes=True)
        assert re.search(r"\x1b\[32m\s*ldap3 is on host\d+", screen), screen
        term.ask("start ldap3x")
        assert "\x1b[" in term.screen(escapes=True).split("start ldap3x")[-1]
    finally:
        term.close()
    (tmp_path / "b").mkdir()
    plain = Terminal(tmp_path / "b", state, env={"NO_COLOR": "1"})
    try:
        plain.ask("where is ldap3")
        assert "ldap3 is on host" in plain.screen()
        assert "\x1b[3" not in plain.screen(escapes=True).split("where is ldap3")[-1]
    finally:
        plain.close()
    piped = subprocess.run([sys.executable, "-m", "granja", "--state", str(state), "ask", "check"],
                           capture_output=True, text=True, timeout=60)
    assert "attention" in piped.stdout
    assert "\x1b[" not in piped.stdout
