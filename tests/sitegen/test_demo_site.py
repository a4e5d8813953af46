"""The demo farm's site as on-call staff read it: real test-driver hosts, real chat commands, real MkDocs."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path

from bot.refresh import refresh_inventory
from bot.results import Outcome
from granja.app import build_inventory_site, open_engine
from tests.sitegen.test_site import row_of, tables


def build(chat, out: Path) -> Path:
    build_inventory_site(chat.engine.config, chat.engine.inventory, out=str(out))
    return out


def page(out: Path, rel: str) -> str:
    return (out / rel).read_text(encoding="utf-8")


def test_imap2_page_shows_its_host_and_nics_wired_to_vlans_and_bonds(chat, tmp_path):
    out = build(chat, tmp_path / "site")
    imap2 = chat.engine.inventory.vm("imap2").vm
    html = page(out, "vms/imap2.html")
    assert row_of(html, "Host")[1] == imap2.host
    assert row_of(html, "Cluster")[1] == "imap"
    # The demo's mail bridge br120 rides VLAN 120 on bond0, management br10 VLAN 10 on bond1.
    nics = {nic.bridge: nic.mac for nic in imap2.nics}
    assert row_of(html, nics["br120"])[1:4] == ["br120", "120 (mail)", "bond0"]  # named as in the config
    assert row_of(html, nics["br10"])[1:4] == ["br10", "10 (mgmt)", "bond1"]
    assert "No drift" in html
    networks = page(out, "networks.html")
    hosts = len(chat.engine.inventory.host_names())
    vlan120 = row_of(networks, "120")  # VLAN, name, description, VMs, hosts, bond, bridges
    assert vlan120[1:3] == ["mail", chat.engine.config.networks["mail"].description]
    assert vlan120[4:] == [str(hosts), "bond0", "br120"]
    mail = networks[networks.index('id="vlan-120"'):networks.index('id="vlan-130"')]
    assert ">imap2</a>" in mail
    assert ">ldap1</a>" not in mail  # ldap is not on the mail VLAN


def test_after_a_migrate_the_rebuilt_site_shows_the_new_host_and_the_change(chat, tmp_path):
    out = build(chat, tmp_path / "site")
    source = chat.engine.inventory.vm("imap2").vm.host
    target = chat.engine.inventory.vm("imap3").vm.host  # onto a cluster mate's host, on purpose
    assert source != target
    cluster = page(out, "clusters/imap.html")
    assert "share" not in cluster

    reply = chat.send(f"migrate imap2 to {target} force", user="carol")
    assert reply.outcome is Outcome.OK, chat.transcript
    build(chat, out)

    html = page(out, "vms/imap2.html")
    assert row_of(html, "Host")[1] == target
    moves = [row for row in tables(html).rows if row[1:3] == ["placement", "host"]]
    assert moves[0][3:] == [source, target, f"migrate imap2 to {target} force", "carol"]
    assert "imap2" in [row[0] for row in tables(page(out, f"hosts/{target}.html")).rows]
    assert "imap2" not in [row[0] for row in tables(page(out, f"hosts/{source}.html")).rows]
    cluster = page(out, "clusters/imap.html")
    assert f"2 members share {target}" in cluster
    assert "imap2, imap3 run on the same host" in cluster
    audit = page(out, "audit.html")
    assert any(row[1:4] == ["carol", f"migrate imap2 to {target} force", "ok"] for row in tables(audit).rows)
    health = [row for row in tables(page(out, "index.html")).rows if row[1:3] == ["spread", "imap"]]
    assert health
    assert target in health[0][3]


def test_after_a_shutdown_the_republished_site_shows_it_wherever_a_person_looks(chat, tmp_path):
    """The bot's republish (incremental: only what changed is built again) leaves nothing stale."""
    out = tmp_path / "site"
    assert not build_inventory_site(chat.engine.config, chat.engine.inventory, out=str(out)).incremental
    host = chat.engine.inventory.vm("imap2").vm.host
    counts = {row[0]: int(row[1]) for row in tables(page(out, "index.html")).rows if row[0] in STATES}
    assert row_of(page(out, "vms.html"), "imap2")[2] == "running"

    assert chat.send("shutdown imap2").outcome is Outcome.OK, chat.transcript
    assert build_inventory_site(chat.engine.config, chat.engine.inventory, out=str(out)).incremental

    assert "State shut off Host" in words(page(out, "vms/imap2.html"))  # its own page's card
    assert row_of(page(out, "vms.html"), "imap2")[2] == "shut off"  # All VMs
    assert row_of(page(out, f"hosts/{host}.html"), "imap2")[1] == "shut off"  # its host's page
    assert row_of(page(out, "clusters/imap.html"), "imap2")[2] == "shut off"  # its cluster's page
    box = '<li class="g-state g-shut-off" title="shut off"><a href="vms/imap2.html"'
    assert box in page(out, "farm.html")  # the farm map
    after = {row[0]: int(row[1]) for row in tables(page(out, "index.html")).rows if row[0] in STATES}
    assert after == {**counts, "running": counts["running"] - 1, "shut off": counts.get("shut off", 0) + 1}
    # Search: its result says shut off, and no entry of its page still says it runs.
    entries = json.loads(page(out, "search/search_index.json"))["docs"]
    own = {e["location"]: " ".join(e["text"].split()) for e in entries
           if e["location"].startswith("vms/imap2.")}
    assert "State shut off" in own["vms/imap2.html"]
    assert not [location for location, text in own.items() if "State running" in text]
    assert page(out, "search/search_index.js") == "var __index = " + page(out, "search/search_index.json")
    # The exports scripts read.
    vm = next(vm for vm in json.loads(page(out, "inventory.json"))["vms"] if vm["name"] == "imap2")
    assert vm["state"] == "shut off"
    assert next(r for r in csv.DictReader(io.StringIO(page(out, "vms.csv"))) if r["name"] == "imap2")[
        "state"] == "shut off"


STATES = ("running", "paused", "shut off", "crashed")


def words(html_text: str) -> str:
    """The page's text as a person reads it: tags gone, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", html_text)).split())


def test_the_export_parses_and_matches_the_inventory(chat, tmp_path):
    out = build(chat, tmp_path / "site")
    inventory = chat.engine.inventory
    document = json.loads(page(out, "inventory.json"))
    assert len(document["vms"]) == len(inventory.vms()) == 52
    assert {h["name"] for h in document["hosts"]} == set(inventory.host_names())
    imap2 = next(vm for vm in document["vms"] if vm["name"] == "imap2")
    assert imap2["host"] == inventory.vm("imap2").vm.host
    assert [nic["mac"] for nic in imap2["nics"]] == [n.mac for n in inventory.vm("imap2").vm.nics]
    rows = list(csv.DictReader(io.StringIO(page(out, "vms.csv"))))
    assert [row["name"] for row in rows] == inventory.vm_names()
    assert next(r for r in rows if r["name"] == "imap2")["host"] == imap2["host"]
    assert '<a href="inventory.json">' in page(out, "index.html")


def test_a_vm_on_an_unreachable_host_shows_a_stale_banner(chat, tmp_path):
    host = chat.engine.inventory.vm("imap2").vm.host
    chat.engine.inventory.record_host_unreachable(host, reason="connection refused",
                                                  at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    out = build(chat, tmp_path / "site")
    html = page(out, "vms/imap2.html")
    assert "Stale since 2026-01-02 03:04:05 UTC" in html
    assert row_of(html, "Host")[1] == host  # its last known data, still shown
    assert "Unreachable since 2026-01-02 03:04:05 UTC" in page(out, f"hosts/{host}.html")


SECRETS = ("VNC-pw-7f3a9c", "SPICE-pw-81c2d4")


def test_no_secret_reaches_the_site(state, tmp_path):
    """Graphics passwords in the domain XML and text the config marks secret appear in no built file."""
    node = state / "demo" / "host02.xml"
    text = node.read_text()
    assert "<name>imap2</name>" in text  # the demo farm puts imap2 on host02
    graphics = (f"<graphics type='vnc' port='-1' autoport='yes' passwd='{SECRETS[0]}'/>"
                f"<graphics type='spice' autoport='yes' passwd='{SECRETS[1]}'/>")
    domain_end = text.index("</devices>", text.index("<name>imap2</name>"))
    node.write_text(text[:domain_end] + graphics + text[domain_end:])
    config = state / "demo" / "farm.toml"
    # Say the data disk's path is sensitive: the config marks it secret.
    config.write_text(config.read_text() + '\n[site]\nsecrets = ["imap2-da[t]a"]\n')
    engine = open_engine(config=str(config), state=str(state))
    _, unreachable = refresh_inventory(engine.farm, engine.inventory, at=datetime.now(UTC), user="t")
    assert not unreachable
    assert SECRETS[0] in node.read_text()  # the host really holds them; the site must not
    assert any("imap2-data" in disk.source for disk in engine.inventory.vm("imap2").vm.disks)
    out = tmp_path / "site"
    build_inventory_site(engine.config, engine.inventory, out=str(out))

    leaks = [(path, secret) for path in [*out.rglob("*"), *(state / "site-src").rglob("*")] if path.is_file()
             for secret in (*SECRETS, "imap2-data", "passwd") if secret.encode() in path.read_bytes()]
    assert leaks == []
    # The marked part of the disk path is masked, not the row dropped.
    assert "/var/lib/xen/images/REDACTED.img" in page(out, "vms/imap2.html")


def test_the_overview_says_how_many_host_failures_the_farm_survives(chat, tmp_path):
    out = build(chat, tmp_path / "site")
    assert "The farm survives any 2 host failures: all 105 pairs of hosts were tried." \
        in page(out, "index.html")
    db_hosts = {r.vm.host for r in chat.engine.inventory.vms_in("db")}
    for other in chat.engine.farm.host_names:  # leave the two db hosts alone: each db member is stranded
        if other not in db_hosts:
            chat.engine.inventory.set_maintenance(other, on=True, at=chat.engine.clock(), user="test")
    html = page(build(chat, out), "index.html")
    assert "The farm does not survive every single host failure" in html
    assert "every host with room already runs a member of db" in html
    health = [row for row in tables(html).rows if row[1] == "resilience"]
    assert {row[2] for row in health} >= db_hosts
