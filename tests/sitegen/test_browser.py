"""The built site in a real browser: headless Chromium against the site served on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from granja.app import build_inventory_site
from tests.sitegen.browser import CHROMIUM, Browser, StaticServer

# Results for a query: Material marks each result link with the query it answers (`?h=…`), so results
# still shown for a prefix typed earlier ("im") are not taken for those of the whole query.
SEARCH_RESULTS = (
    "(() => {{ const links = [...document.querySelectorAll('.md-search-result__item a')]"
    ".filter(a => new URL(a.href).searchParams.get('h') === {query});"
    " return links.length ? links.map(a => [a.getAttribute('href'), a.textContent.trim()]) : null }})()"
)


@pytest.fixture
def site(chat, tmp_path) -> Path:
    out = tmp_path / "site"
    build_inventory_site(chat.engine.config, chat.engine.inventory, out=str(out))
    return out


@pytest.fixture
def page(tmp_path) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():  # ./dev test installs it; a machine without it must not pass quietly
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (TEST_APT_PACKAGES in ./dev)",
                    pytrace=False)
    browser = Browser(tmp_path / "profile")
    try:
        yield browser
    finally:
        browser.close()


def search(page: Browser, text: str) -> list[list[str]]:
    """Type into Material's search box and return the results' links and texts."""
    page.evaluate("document.querySelector('input[data-md-component=search-query]').focus()")
    page.type(text)
    return list(page.wait_for(SEARCH_RESULTS.format(query=json.dumps(text))))


def test_the_index_renders_and_the_search_box_finds_imap2(site, page, chat):
    server = StaticServer(site)
    try:
        page.open(server.url + "index.html")
        check_index_and_search(page, chat)
    finally:
        server.stop()


def test_a_copy_opened_from_file_still_searches(site, page, chat):
    """The laptop copy at 3 a.m.: no server, no internet; the vendored Worker shim runs search."""
    page.open((site / "index.html").as_uri())
    found = search(page, "imap2")
    assert found[0][0].split("?")[0].endswith("vms/imap2.html"), json.dumps(found)


def check_index_and_search(page: Browser, chat) -> None:
    assert page.evaluate("document.querySelector('h1').firstChild.textContent") == chat.engine.config.name
    # The overview's host table rendered as a table, with a link per host.
    hosts = page.evaluate("[...document.querySelectorAll('table a[href^=\"hosts/\"]')].length")
    assert hosts == len(chat.engine.inventory.host_names())

    found = search(page, "imap2")
    assert found[0][0].split("?")[0].endswith("vms/imap2.html"), json.dumps(found)
    assert "imap2" in found[0][1]
