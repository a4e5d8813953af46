"""Onboarding: `./dev demo` says how to view the site, and the demo farm republishes it after a change."""

from __future__ import annotations

import re
from pathlib import Path

from granja.app import open_engine
from tests.console.terminal import Terminal

REPO = Path(__file__).resolve().parent.parent


def _state_of(page: Path, vm: str) -> str:
    """The state a VM's site page shows in its table's State row."""
    html = page.read_text() if page.exists() else ""
    found = re.search(r"<td>State</td>\s*<td>([^<]*)</td>", html)
    return found.group(1) if found else ""


def test_dev_demo_says_how_to_view_the_site_and_the_chat_republishes_it(tmp_path):
    state = tmp_path / "state"
    term = Terminal(tmp_path, state, env={"GRANJA_STATE": str(state), "GRANJA_DEMO_SITE": "../site"},
                    command=[str(REPO / "dev"), "demo"], timeout=150)
    try:
        screen = term.screen()
        page = state / "site" / "index.html"
        assert f"Site built: {page}" in screen
        assert "To view the site: run '.venv/bin/granja site serve' in another terminal and open " \
               "http://127.0.0.1:8000/" in screen
        assert f"(or open {page} in a browser)" in screen
        ldap3 = state / "site" / "vms" / "ldap3.html"
        assert _state_of(ldap3, "ldap3") == "running"
        term.ask("shutdown ldap3", until="[y/N]")
        term.ask("y")
        term.wait_for(lambda _screen: _state_of(ldap3, "ldap3") == "shut off", what="the site republished",
                      timeout=120)
    finally:
        term.close()


def test_the_demo_publishes_no_site_when_told_not_to(tmp_path, monkeypatch):
    monkeypatch.setenv("GRANJA_DEMO_SITE", "")
    engine = open_engine(config=None, state=str(tmp_path / "state"))
    assert "[site]" not in engine.config.path.read_text()
    assert engine.on_change is None
