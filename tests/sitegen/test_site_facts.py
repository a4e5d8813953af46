"""The site says what the chat says: guest addresses and use, `check`, every VLAN the hosts carry."""

from __future__ import annotations

import html
import json
import re
from dataclasses import replace
from pathlib import Path

from granja.app import build_inventory_site
from hypervisor.model import Usage
from sitegen.render import vm_page
from tests.sitegen.test_site import FARM_NOW, md_mtimes, new_site, refresh, row_of, tables

MEMORY = "memory about 1.5 GiB of 4 GiB"  # ldap1's use in the test below
SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}


def build(chat, out: Path) -> Path:
    build_inventory_site(chat.engine.config, chat.engine.inventory, out=str(out))
    return out


def card(html_text: str) -> dict[str, str]:
    """The summary card's rows, label -> value, as the page's text reads."""
    rows = re.findall(r'<span class="g-k">(.*?)</span> <span class="g-v">(.*?)</span></div>', html_text)
    return {label: " ".join(html.unescape(re.sub(r"<[^>]+>", " ", value)).split())
            for label, value in rows}


def section(html_text: str, anchor: str) -> str:
    """The page from the heading with this id to the next second-level heading."""
    start = html_text.index(f'id="{anchor}"')
    end = html_text.find("<h2", start)
    return html_text[start:end if end > 0 else None]


def test_a_vm_page_shows_its_addresses_and_use_at_the_last_refresh_and_search_knows_them(chat, tmp_path):
    assert chat.send("refresh").ok, chat.transcript  # a second reading: CPU use is the growth between two
    shown = chat.send("show ldap3")
    said = {line.split(None, 1)[0]: line.split(None, 1)[1] for line in
            (raw.strip() for raw in chat.transcript.splitlines()) if line.startswith("addresses")}
    assert said["addresses"] == "192.168.0.1, 192.168.0.2", shown
    out = build(chat, tmp_path / "site")
    rows = card((out / "vms" / "ldap3.html").read_text())
    assert rows["IP addresses"] == said["addresses"]
    assert rows["In use"] == "CPU about 50 %, at the last refresh"  # the chat says "CPU 50%"
    index = json.loads((out / "search" / "search_index.json").read_text())
    ldap3 = [doc for doc in index["docs"] if doc["location"] == "vms/ldap3.html"]
    assert "192.168.0.1" in ldap3[0]["text"]


def test_use_that_only_jitters_rewrites_no_vm_page_and_a_real_change_rewrites_one(tmp_path):
    site = new_site(tmp_path)

    def with_use(cpu: float, memory: int) -> list:
        return [replace(vm, usage=Usage(cpu_percent=cpu if vm.name == "ldap1" else 10.0,
                                        memory_used_mib=memory if vm.name == "ldap1" else 1024,
                                        addresses=(f"10.0.100.{i + 10}",)))
                for i, vm in enumerate(FARM_NOW)]

    refresh(site.inv, with_use(41.2, 1500), minutes=20, unreachable=("host3",))
    site.build()
    assert card(site.vm_html("ldap1"))["In use"] == f"CPU about 40 %, {MEMORY}, at the last refresh"
    assert card(site.vm_html("ldap1"))["IP addresses"] == "10.0.100.10"
    before = md_mtimes(site.work)
    refresh(site.inv, with_use(43.9, 1530), minutes=30, unreachable=("host3",))
    site.build()
    after = md_mtimes(site.work)
    assert {rel for rel in after if after[rel] != before[rel]} == {"index.md"}  # the refresh's time
    refresh(site.inv, with_use(45.1, 1540), minutes=35, unreachable=("host3",))  # across a rounding edge
    site.build()
    edge = md_mtimes(site.work)
    assert {rel for rel in edge if edge[rel] != after[rel]} == {"index.md"}
    assert card(site.vm_html("ldap1"))["In use"] == f"CPU about 40 %, {MEMORY}, at the last refresh"
    after = edge
    refresh(site.inv, with_use(78.0, 1530), minutes=40, unreachable=("host3",))
    site.build()
    again = md_mtimes(site.work)
    assert {rel for rel in again if again[rel] != after[rel]} == {"index.md", vm_page("ldap1")}
    assert card(site.vm_html("ldap1"))["In use"] == f"CPU about 80 %, {MEMORY}, at the last refresh"


def test_a_stale_vm_page_says_when_its_use_was_read(tmp_path):
    site = new_site(tmp_path)
    farm = [replace(vm, usage=Usage(cpu_percent=3.0)) for vm in FARM_NOW]
    refresh(site.inv, farm, minutes=20)  # host3 answers: web1 is read
    refresh(site.inv, farm, minutes=30, unreachable=("host3",))
    site.build()
    assert card(site.vm_html("web1"))["In use"] == "CPU under 5 %, read by 2025-03-01 12:20:00 UTC"


def test_the_overviews_health_table_is_what_check_says(chat, tmp_path):
    reply = chat.send("check")
    said = [[f.severity, f.kind, f.subject, f.message] for f in reply.body.findings]
    assert ["critical", "cluster_degraded", "ftp"] in [row[:3] for row in said]  # the demo's ftp2 is off
    ranks = [SEVERITY_RANK[row[0]] for row in said]
    assert ranks == sorted(ranks), said  # critical first
    out = build(chat, tmp_path / "site")
    health = tables(section((out / "index.html").read_text(), "health-check")).rows
    assert health[0] == ["Severity", "Kind", "Subject", "Finding"]
    assert health[1:] == said


def test_every_vlan_a_host_carries_is_on_the_networks_page(chat, tmp_path):
    out = build(chat, tmp_path / "site")
    networks = (out / "networks.html").read_text()
    carriers = [h.name for h in chat.engine.inventory.hosts()
                if h.host.facts and any(v.vlan == 150 for v in h.host.facts.vlans)]
    assert carriers == chat.engine.inventory.host_names()  # every demo host has bond1.150, no bridge on it
    # VLAN, name, description, VMs, hosts, bond, bridges: the config names no VLAN 150.
    assert row_of(networks, "150") == ["150", "not in the config", "—", "0", str(len(carriers)), "bond1", "—"]
    where = tables(section(networks, "vlan-150")).rows
    assert where[0] == ["Interface", "Bond", "Bridge", "Hosts"]
    assert where[1:] == [["bond1.150", "bond1", "—", ", ".join(carriers)]]
    # A configured VLAN says where it is too, with its bridge.
    mail = tables(section(networks, "vlan-120")).rows
    assert mail[1][:3] == ["bond0.120", "bond0", "br120"]
