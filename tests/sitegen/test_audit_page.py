"""The site's Audit page: changes only, one row each, filtered in the page, kept out of search."""

from __future__ import annotations

import json

from bot.results import Outcome
from tests.sitegen.browser import StaticServer
from tests.sitegen.test_browser import page, search, site  # noqa: F401  (fixtures)
from tests.sitegen.test_demo_site import page as page_text
from tests.sitegen.test_site import tables

VISIBLE_ROWS = ("[...document.querySelectorAll('.md-content table tbody tr')]"
                ".filter(r => r.offsetParent !== null).map(r => r.cells[2].textContent.trim())")


def _day(chat) -> str:
    """A few changes among reads; returns the evacuated host."""
    host = chat.engine.inventory.vm("imap2").vm.host
    for text in ("where is imap2", "list", "help"):
        chat.send(text)
    chat.send("reboot ldap1", user="bob")
    chat.send("shutdown ldap2", user="alice")  # a viewer: refused, still a change tried
    assert chat.send(f"evacuate {host}").outcome is Outcome.OK, chat.transcript
    return host


def test_the_audit_page_lists_changes_and_filters_them_in_the_page(chat, page, tmp_path):  # noqa: F811
    from granja.app import build_inventory_site

    host = _day(chat)
    out = tmp_path / "site"
    build_inventory_site(chat.engine.config, chat.engine.inventory, out=str(out))
    server = StaticServer(out)
    try:
        page.open(server.url + "audit.html")
        assert page.evaluate(VISIBLE_ROWS) == [f"evacuate {host}", "shutdown ldap2", "reboot ldap1"]
        # One line per change: the time does not wrap.
        heights = page.evaluate("[...document.querySelectorAll('.md-content table tbody tr')]"
                                ".map(r => r.cells[0].getClientRects().length)")
        assert heights == [1, 1, 1]
        page.evaluate("document.getElementById('audit-filter').focus()")
        page.type("ldap")
        assert page.wait_for(f"(() => {{ const r = {VISIBLE_ROWS}; return r.length === 2 ? r : null }})()") \
            == ["shutdown ldap2", "reboot ldap1"]
        page.type(" bob")
        assert page.wait_for(f"(() => {{ const r = {VISIBLE_ROWS}; return r.length === 1 ? r : null }})()") \
            == ["reboot ldap1"]
        assert page.evaluate("document.getElementById('audit-count').textContent") == "1 of 3 changes shown"

        # Search finds a VM's page, never the audit's rows that name it.
        page.open(server.url + "index.html")
        found = search(page, "ldap1")
        assert found[0][0].split("?")[0].endswith("vms/ldap1.html"), json.dumps(found)
        assert not [link for link, _ in found if "audit" in link], json.dumps(found)
    finally:
        server.stop()


def test_the_audit_page_shows_a_command_as_typed_escaped_once(chat, tmp_path):
    from granja.app import build_inventory_site

    chat.send("migrate ldap1 to no_such_host*", user="bob")  # not a command: a read, not on the page
    chat.send("migrate ldap1 to no_such_host", user="bob")  # a failed change; `_` is Markdown emphasis
    out = tmp_path / "site"
    build_inventory_site(chat.engine.config, chat.engine.inventory, out=str(out))
    rows = tables(page_text(out, "audit.html")).rows[1:]  # under the header
    assert [row[1:4] for row in rows] == [["bob", "migrate ldap1 to no_such_host", "failed"]]
    assert "no_such_host" in rows[0][4]  # the detail, as the chat said it
    assert "&amp;#" not in page_text(out, "audit.html")  # no entity escaped a second time
