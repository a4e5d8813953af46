"""The built site in a real browser: headless Chromium against the site served on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from granja.app import build_inventory_site
from tests.sitegen.browser import CHROMIUM, Browser, StaticServer

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")


@pytest.fixture
def browser(chat, tmp_path) -> Iterator[tuple[Browser, str]]:
    out = tmp_path / "site"
    build_inventory_site(chat.engine.config, chat.engine.inventory, out=str(out))
    server = StaticServer(out)
    browser = Browser(tmp_path / "profile")
    try:
        yield browser, server.url
    finally:
        browser.close()
        server.stop()


def test_the_index_renders_and_the_search_box_finds_imap2(browser, chat):
    page, url = browser
    page.open(url + "index.html")
    assert page.wait_for("document.readyState === 'complete' && document.querySelector('h1')?.textContent")
    assert page.evaluate("document.querySelector('h1').firstChild.textContent") == chat.engine.config.name
    # The overview's host table rendered as a table, with a link per host.
    hosts = page.evaluate("[...document.querySelectorAll('table a[href^=\"hosts/\"]')].length")
    assert hosts == len(chat.engine.inventory.host_names())

    page.evaluate("document.querySelector('input[data-md-component=search-query]').focus()")
    page.type("imap2")
    found = page.wait_for(
        "(() => { const links = [...document.querySelectorAll('.md-search-result__item a')];"
        " return links.length ? links.map(a => [a.getAttribute('href'), a.textContent.trim()]) : null })()"
    )
    assert found[0][0].split("?")[0].endswith("vms/imap2.html"), json.dumps(found)
    assert "imap2" in found[0][1]
