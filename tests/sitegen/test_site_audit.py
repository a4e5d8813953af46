"""The site's audit page and exports: text escaped once, secrets masked, private places left out;
spreadsheet formulas in the CSV export quoted."""

from __future__ import annotations

import csv
import dataclasses
import io

import pytest

from bot.engine import ChatEvent
from sitegen.export import export_csv
from sitegen.snapshot import gather
from tests.sitegen.test_demo_site import build, page
from tests.sitegen.test_site import tables


def audit_rows(out):
    return [row for row in tables(page(out, "audit.html")).rows if row]


def test_the_audit_page_escapes_once(chat, tmp_path):
    chat.send("where is ldap3's <b>host</b> & more", user="carol")
    rows = audit_rows(build(chat, tmp_path / "site"))
    assert rows[0][:3] == ["When", "Who", "Command"]
    assert rows[1][2] == "where is ldap3's <b>host</b> & more"  # as typed: no &#x27; or &amp; showing
    assert "&#x27;" not in page(tmp_path / "site", "audit.html").replace("&amp;#x27;", "BAD")


def test_the_audit_page_masks_secrets_and_leaves_out_private_places(chat, tmp_path):
    chat.send("where is ldap3 password=hunter2 xoxb-12345-abcdef", user="carol")
    direct = ChatEvent(user="carol", text="where is the-private-one", channel="D1",
                       extra={"channel_type": "im"})
    chat.engine.prepare(direct)
    out = build(chat, tmp_path / "site")
    html = page(out, "audit.html")
    assert "hunter2" not in html
    assert "xoxb-12345" not in html
    assert "password=REDACTED" in html
    assert "the-private-one" not in html


@pytest.mark.parametrize("name", ["=HYPERLINK(1)", "+1+2", "-3+4", "@SUM(1)", "\tx", "\rx"])
def test_the_csv_export_quotes_what_a_spreadsheet_would_run(engine, name):
    view = gather(engine.inventory)
    first = view.vms[0]
    hostile = dataclasses.replace(first, vm=dataclasses.replace(first.vm, name=name))
    exported = export_csv(dataclasses.replace(view, vms=(hostile,)))
    rows = list(csv.DictReader(io.StringIO(exported, newline="")))
    assert rows[0]["name"] == "'" + name
    assert rows[0]["host"] == first.vm.host  # plain values untouched
