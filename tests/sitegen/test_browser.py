"""The built site in a real browser: headless Chromium against the site served on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from granja.app import build_inventory_site
from hypervisor.model import Usage
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
    hosts = page.evaluate("[...document.querySelectorAll('.g-hosts a[href^=\"hosts/\"]')].length")
    assert hosts == len(chat.engine.inventory.host_names())

    found = search(page, "imap2")
    assert found[0][0].split("?")[0].endswith("vms/imap2.html"), json.dumps(found)
    assert "imap2" in found[0][1]


# What a person sees: the element's box lies in the viewport (is not below the fold) and shows.
IN_VIEW = (
    "(() => {{ const e = document.querySelector({selector}); if (!e) return null;"
    " const r = e.getBoundingClientRect();"
    " return r.width > 0 && r.height > 0 && r.top >= 0 && r.bottom <= innerHeight"
    " && r.left >= 0 && r.right <= innerWidth ? e.innerText : null }})()"
)
PHONE = (390, 844)


def visible_text(page: Browser, selector: str) -> str:
    """The element's text, once it is wholly inside the viewport."""
    return str(page.wait_for(IN_VIEW.format(selector=json.dumps(selector))))


def no_sideways_scroll(page: Browser) -> bool:
    """Whether the page's content fits the screen's width, so the page never scrolls sideways.

    A long table may scroll inside its own box (Material's table wrapper); Material's closed
    search panel in the header lies past the edge on purpose and is not content.
    """
    return bool(page.evaluate(
        "document.querySelector('.md-main').scrollWidth <= document.documentElement.clientWidth"))


@pytest.mark.parametrize(("width", "height"), [(1280, 800), PHONE], ids=["desktop", "phone"])
def test_a_vm_page_opens_on_its_summary_card(site, page, width, height):
    page.open((site / "vms" / "imap2.html").as_uri())
    page.viewport(width, height, mobile=width < 600)
    visible_text(page, "#summary")  # above the fold, on a phone too
    lines = [" ".join(line.split()) for line in page.evaluate(
        "[...document.querySelectorAll('#summary .g-row')].map(r => r.innerText.replace(/\\n/g, ' '))")]
    assert "State running" in lines
    assert "Host host02" in lines
    assert "Cluster imap" in lines
    assert any(line.startswith("Network VLAN 120 (mail) · 00:16:3e:") for line in lines), lines
    assert any(line.startswith("Last change ") and "first refresh" in line for line in lines), lines
    assert "Drift no" in lines
    assert "Stale no" in lines
    assert "Uptime unknown: host02 runs TEST, not Xen: libvirt does not report a guest's uptime" in lines
    host_link = page.evaluate("document.querySelector('#summary a').getAttribute('href')")
    assert host_link == "../hosts/host02.html"
    assert no_sideways_scroll(page)


def test_the_farm_map_shows_hosts_their_vms_by_state_and_members_sharing_a_host(chat, tmp_path, page):
    assert chat.send("migrate ldap3 to host05 force").ok, chat.transcript  # ldap1 runs there
    site = tmp_path / "site"
    build_inventory_site(chat.engine.config, chat.engine.inventory, out=str(site))
    page.open((site / "farm.html").as_uri())
    page.viewport(*PHONE, mobile=True)
    boxes = page.evaluate("[...document.querySelectorAll('.g-box h3 a')].map(a => a.textContent)")
    assert boxes == chat.engine.inventory.host_names()
    page.evaluate("document.querySelector('#host-host05').scrollIntoView()")
    box = visible_text(page, "#host-host05")
    assert "⚠ 2 members of ldap share this host: ldap1, ldap3" in box
    assert "ldap3 ◆ ldap" in box
    colours = page.evaluate(
        "Object.fromEntries([...document.querySelectorAll('#host-host05 li')].map(li =>"
        " [li.querySelector('a').textContent, getComputedStyle(li).backgroundColor]))")
    assert colours["ldap3"] == "rgb(46, 125, 50)"  # running: green
    assert colours["mirror"] != colours["ldap3"]  # mirror is paused in the demo farm
    assert no_sideways_scroll(page)
    # The matrix: ldap's row has a red 2 under host05.
    two = page.evaluate("[...document.querySelectorAll('.g-matrix td.g-two')].map(td => td.textContent)")
    assert two == ["2"]


def test_the_overview_shows_capacity_as_bars(site, page, chat):
    page.open((site / "index.html").as_uri())
    page.viewport(1280, 800)
    page.evaluate("document.querySelector('.g-hosts').scrollIntoView()")
    row = visible_text(page, ".g-host-row")
    assert "host01" in row
    assert "vCPUs (24 cores × 4)" in row
    assert "of 128 GiB memory" in row
    # The fill is drawn to the committed share: host01 holds 9 of 96 vCPUs.
    share = page.evaluate("(() => { const b = document.querySelector('.g-host-row .g-bar');"
                          " return b.querySelector('.g-fill').getBoundingClientRect().width"
                          " / b.getBoundingClientRect().width })()")
    used, limit = (int(n) for n in row.split(" of ")[0].split()[-1:] + [row.split(" of ")[1].split()[0]])
    assert abs(share - used / limit) < 0.02, (share, used, limit)


def test_search_finds_a_vm_by_its_mac_and_shows_its_host_and_state(site, page, chat):
    page.open((site / "index.html").as_uri())
    mac = chat.engine.inventory.vm("imap2").vm.nics[1].mac
    page.evaluate("document.querySelector('input[data-md-component=search-query]').focus()")
    page.type(mac)
    # Material turns the MAC's colons into spaces: wait for the results of every part of it.
    parts = set(mac.split(":"))
    first = page.wait_for(
        "(() => { const a = document.querySelector('.md-search-result__item a');"
        " if (!a) return null; const h = new URL(a.href).searchParams.get('h') || '';"
        f" return {json.dumps(sorted(parts))}.every(p => h.split(' ').includes(p))"
        " ? [a.getAttribute('href'), a.innerText] : null })()")
    assert first[0].split("?")[0].endswith("vms/imap2.html"), first
    snippet = " ".join(first[1].split())
    assert "State running" in snippet, snippet
    assert "Host host02" in snippet, snippet


def test_search_finds_vms_by_vlan_name(site, page):
    page.open((site / "index.html").as_uri())
    found = search(page, "mgmt")
    assert any(href.split("?")[0].endswith("networks.html") for href, _ in found), found
    assert any("/vms/" in href for href, _ in found), found


def test_the_vm_list_keeps_name_host_and_state_on_a_phone(site, page):
    page.open((site / "vms.html").as_uri())
    page.viewport(*PHONE, mobile=True)
    headers = page.evaluate("[...document.querySelectorAll('table:has(.g-prio) th')]"
                            ".filter(th => th.getBoundingClientRect().width > 0).map(th => th.textContent)")
    assert headers == ["Name", "Host", "State"]
    assert no_sideways_scroll(page)
    assert page.evaluate("document.querySelector('.md-typeset__scrollwrap:has(.g-prio)').scrollWidth"
                         " <= document.querySelector('.md-typeset__scrollwrap:has(.g-prio)').clientWidth")


def test_search_finds_a_vm_by_its_ip_address_and_shows_its_host_and_state(chat, tmp_path, page):
    # The test driver gives every guest 192.168.0.1…: ldap3's host reports an address of its own here.
    record = chat.engine.inventory.vm("ldap3")
    seen = replace(record.vm, usage=Usage(cpu_percent=12.0, addresses=("10.0.100.23", "fd00::23")))
    chat.engine.inventory.record_vm(seen, at=chat.engine.clock(), command="refresh", user="test")
    site = tmp_path / "site"
    build_inventory_site(chat.engine.config, chat.engine.inventory, out=str(site))
    page.open((site / "index.html").as_uri())
    found = search(page, "10.0.100.23")
    assert [href.split("?")[0].rsplit("/site/", 1)[1] for href, _ in found] == ["vms/ldap3.html"], found
    snippet = " ".join(page.evaluate("document.querySelector('.md-search-result__item a').innerText").split())
    assert "State running" in snippet, snippet
    assert f"Host {record.vm.host}" in snippet, snippet
    assert "IP addresses 10.0.100.23, fd00::23" in snippet, snippet


def test_the_health_table_keeps_severity_subject_and_finding_on_a_phone(site, page):
    page.open((site / "index.html").as_uri())
    page.viewport(*PHONE, mobile=True)
    page.evaluate("document.querySelector('#health-check').scrollIntoView()")
    table = "document.querySelector('#health-check ~ .md-typeset__scrollwrap')"
    headers = page.evaluate(f"[...{table}.querySelectorAll('th')]"
                            ".filter(th => th.getBoundingClientRect().width > 0).map(th => th.textContent)")
    assert headers == ["Severity", "Subject", "Finding"]
    assert page.evaluate(f"{table}.scrollWidth <= {table}.clientWidth")
    assert no_sideways_scroll(page)
