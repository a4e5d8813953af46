"""The bot's republish after one change: only changed pages are rendered, and the search index stays whole."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from pathlib import Path

from hypervisor.model import Usage
from sitegen.export import CSV_COLUMNS
from sitegen.render import vm_page
from tests.sitegen.test_site import FARM_NOW, new_site, refresh, row_of


def index_pages(out: Path) -> dict[str, list[str]]:
    """Search index: page -> the texts of its entries, as Material's search reads them."""
    pages: dict[str, list[str]] = {}
    for entry in json.loads((out / "search" / "search_index.json").read_text())["docs"]:
        pages.setdefault(entry["location"].split("#")[0], []).append(entry["text"])
    inlined = (out / "search" / "search_index.js").read_text()  # what the file:// copy searches
    assert inlined == "var __index = " + (out / "search" / "search_index.json").read_text()
    return pages


def html_mtimes(out: Path) -> dict[str, int]:
    return {p.relative_to(out).as_posix(): p.stat().st_mtime_ns for p in out.rglob("*.html")}


def test_a_rebuild_after_one_change_renders_only_what_changed_and_keeps_search_whole(tmp_path: Path) -> None:
    site = new_site(tmp_path)
    assert not site.result.incremental  # the first build is a full one
    full_index = index_pages(site.out)
    before = html_mtimes(site.out)

    farm = [replace(vm, vcpus=8) if vm.name == "ldap2" else vm for vm in FARM_NOW]
    refresh(site.inv, farm, minutes=20, unreachable=("host3",))
    result = site.build()

    assert result.incremental
    after = html_mtimes(site.out)
    rebuilt = {page for page in after if after[page] != before[page]} - {"404.html"}
    assert rebuilt == {"index.html", "vms.html", "hosts/host2.html", "vms/ldap2.html"}
    assert row_of(site.vm_html("ldap2"), "vCPUs")[1] == "8"
    # The index still holds every page, not only the five rebuilt: searching web1 still finds it.
    index = index_pages(site.out)
    assert set(index) == set(full_index)
    assert index["vms/web1.html"] == full_index["vms/web1.html"]
    assert any("8 vCPUs" in text for text in index["vms/ldap2.html"])
    assert not any("8 vCPUs" in text for text in full_index["vms/ldap2.html"])


def test_a_rebuild_exports_each_vm_as_it_is_now_also_when_only_its_use_changed(tmp_path: Path) -> None:
    site = new_site(tmp_path)
    # Seen at the same time as before (so the records differ only where said): ldap2 has grown,
    # imap1 only uses memory it did not (use is no part of a record's equality).
    farm = [replace(vm, vcpus=8) if vm.name == "ldap2" else
            replace(vm, usage=Usage(memory_used_mib=512)) if vm.name == "imap1" else vm for vm in FARM_NOW]
    refresh(site.inv, farm, minutes=10, unreachable=("host3",))
    assert site.build().incremental
    text = (site.out / "inventory.json").read_text()
    document = json.loads(text)
    # One JSON document, keys sorted throughout, as json.dumps writes the whole of it.
    assert text == json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n"
    vms = {vm["name"]: vm for vm in document["vms"]}
    assert vms["ldap2"]["vcpus"] == 8
    assert vms["imap1"]["usage"]["memory_used_mib"] == 512
    rows = {row[0]: row for row in csv.reader(io.StringIO((site.out / "vms.csv").read_text()))}
    assert rows["ldap2"][CSV_COLUMNS.index("vcpus")] == "8"


def test_a_rebuild_after_a_vm_is_gone_drops_its_page_and_its_search_entries(tmp_path: Path) -> None:
    site = new_site(tmp_path)
    refresh(site.inv, [vm for vm in FARM_NOW if vm.name != "ldap2"], minutes=20, unreachable=("host3",))
    result = site.build()
    assert result.incremental
    assert not (site.out / "vms" / "ldap2.html").exists()
    index = index_pages(site.out)
    assert "vms/ldap2.html" not in index
    assert "vms/ldap1.html" in index


def test_an_interrupted_build_makes_the_next_one_full(tmp_path: Path) -> None:
    site = new_site(tmp_path)
    (site.out / ".granja-build").unlink()  # what a build killed halfway leaves
    (site.out / "vms" / "web1.html").write_text("half written")
    result = site.build()
    assert not result.incremental
    assert "web1" in site.vm_html("web1")
    assert (site.work / vm_page("web1")).is_file()


def test_a_full_build_after_another_sites_incremental_one_holds_only_its_own_pages(tmp_path: Path) -> None:
    """MkDocs keeps the search plugin between builds in one process (the bot's): no entry may leak."""
    first = new_site(tmp_path / "a")
    refresh(first.inv, [replace(vm, vcpus=6) for vm in FARM_NOW], minutes=20, unreachable=("host3",))
    assert first.build().incremental
    second = new_site(tmp_path / "b")
    (second.work / vm_page("web1")).unlink()  # a page only the first site still has
    second.build_full()
    assert "vms/web1.html" not in index_pages(second.out)
