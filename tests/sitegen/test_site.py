"""The inventory site as a user sees it: a real inventory, a real MkDocs build, the HTML read back."""

from __future__ import annotations

import html
import json
import logging
import re
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

from hypervisor.host_model import Host, HostFacts, NodeView, Pool, Storage
from hypervisor.model import NIC, VM, Disk, GranjaMeta, Virt, VMState
from inventory import Inventory
from inventory.finding import Finding
from sitegen.build import BuildResult, build_site
from sitegen.markdown import md_escape
from sitegen.render import page_slug, vm_page
from tests.inventory.builders import mac
from tests.inventory.builders import make_vm as base_vm

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
TITLE = "Test farm"
EVIL = "x|<b>y</b>"
EVIL_BRIDGE = "br|<i>0</i>{: onclick=alert(1)}"


def make_vm(name: str, host: str, **changes: object) -> VM:
    site_shape: dict[str, object] = {
        "memory_mib": 2048, "max_memory_mib": 0, "kernel": "", "bootloader": "/usr/lib/xen/bin/pygrub",
        "disks": (Disk("xvda", f"/dev/vg0/{name}-root", "xen", pool="vg0", size_bytes=10 * 2**30),),
        "nics": (NIC(mac(name, 0), "br100", "netfront", vlan=100), NIC(mac(name, 1), "br200")),
        "meta": GranjaMeta(cluster=name.rstrip("0123456789") or "misc", template="debian12"),
    }
    return base_vm(name, host, **{**site_shape, **changes})


def make_host(name: str) -> Host:
    return Host(name=name, uri=f"xen+ssh://root@{name}/", driver="Xen", cpus=16, memory_mib=65536,
                pools=(Pool("vg0", 2**40, 2**39, 2**39),))


HOSTS = [make_host("host1"), make_host("host2"), make_host("host3")]
FARM = [
    make_vm("ldap1", "host1"),
    make_vm("ldap2", "host2", state=VMState.SHUTOFF),
    make_vm("imap1", "host2", virt=Virt.HVM, bootloader="", vcpus=4, memory_mib=8192),
    make_vm("web1", "host3"),  # host3 goes unreachable: web1 turns stale
    make_vm(EVIL, "host1", nics=(NIC(mac(EVIL, 0), EVIL_BRIDGE),)),
]


def refresh(inv: Inventory, vms: list[VM], *, minutes: float, unreachable: tuple[str, ...] = ()) -> None:
    """Record what a refresh would have seen: the VMs on the hosts that answered."""
    inv.record_refresh(
        hosts=[h for h in HOSTS if h.name not in unreachable],
        vms=[vm for vm in vms if vm.host not in unreachable],
        unreachable={name: "ssh: connection timed out" for name in unreachable},
        at=T0 + timedelta(minutes=minutes),
        duration_s=1.5,
        command="refresh",
        user="alice",
    )


# The farm at the second refresh: ldap1 got more memory, and host3 did not answer.
FARM_NOW = [replace(vm, memory_mib=4096) if vm.name == "ldap1" else vm for vm in FARM]


def make_inventory(state: Path) -> Inventory:
    inv = Inventory(state)
    refresh(inv, FARM, minutes=0)
    refresh(inv, FARM_NOW, minutes=10, unreachable=("host3",))
    return inv


@dataclass
class Site:
    inv: Inventory
    out: Path
    work: Path
    result: BuildResult

    def build(self) -> BuildResult:
        return build_site(self.inv, title=TITLE, out=self.out, work=self.work)

    def build_full(self) -> BuildResult:
        """MkDocs' stage alone, in full, on the Markdown as it is (nothing re-rendered)."""
        from sitegen.mkdocs_run import run_mkdocs

        run_mkdocs(title=TITLE, work=self.work, out=self.out, full=True)
        return self.result

    def html(self, rel: str) -> str:
        return (self.out / rel).read_text(encoding="utf-8")

    def vm_html(self, name: str) -> str:
        return self.html(vm_page(name).removesuffix(".md") + ".html")


def new_site(root: Path) -> Site:
    inv = make_inventory(root / "state")
    out, work = root / "site", root / "state" / "site-src"
    return Site(inv, out, work, build_site(inv, title=TITLE, out=out, work=work))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    """One build shared by the read-only tests."""
    return new_site(tmp_path_factory.mktemp("site"))


class _Tables(HTMLParser):
    """Every table's rows as lists of cell text, with entities decoded as a browser shows them."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None
        self.tags: list[str] = []
        self.attrs: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.update(name for name, _ in attrs)
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def tables(html_text: str) -> _Tables:
    parser = _Tables()
    parser.feed(html_text)
    return parser


def row_of(html_text: str, first_cell: str) -> list[str]:
    rows = [row for row in tables(html_text).rows if row and row[0] == first_cell]
    assert len(rows) == 1, f"expected one row for {first_cell!r}, found {rows}"
    return rows[0]


def host_row(html_text: str, host: str) -> list[str]:
    """The overview's line for a host (name, status and both capacity bars) as text."""
    found = re.search(rf'<div class="g-host-row[^"]*"><span class="g-host-name"><a [^>]*>{host}</a>.*',
                      html_text)
    assert found, f"no host row for {host!r}"
    return html.unescape(re.sub(r"<[^>]+>", " ", found.group(0))).split()


def md_mtimes(work: Path) -> dict[str, int]:
    return {p.relative_to(work).as_posix(): p.stat().st_mtime_ns for p in work.rglob("*.md")}


def test_vm_list_shows_every_vm_with_its_host_and_state(site: Site) -> None:
    listing = site.html("vms.html")
    for vm in FARM:
        row = row_of(listing, vm.name)
        assert row[1] == vm.host
        assert row[2].startswith(vm.state.value)
    assert row_of(listing, "web1")[2] == "running (stale)"
    assert row_of(listing, "imap1")[4:] == ["4", "8 GiB"]
    # 5 overview pages (with the farm map), a page per VM, per host and per cluster
    # (ldap, imap, web, x|<b>y</b>'s "x").
    assert site.result.pages == 5 + len(FARM) + len(HOSTS) + 4


def test_overview_shows_counts_refresh_and_unreachable_hosts(site: Site) -> None:
    index = site.html("index.html")
    assert row_of(index, "total")[1] == str(len(FARM))
    assert row_of(index, "stale (host did not answer)")[1] == "1"
    assert "2025-03-01 12:10:00 UTC" in index  # the last refresh
    assert '<a href="hosts/host3.html">host3</a> (ssh: connection timed out)' in index
    assert " ".join(host_row(index, "host3")).startswith("host3 unreachable since 2025-03-01 12:10:00 UTC")
    # host2 runs ldap2 (shut off) and imap1 (4 vCPUs, 8 GiB): only the active one counts, as a bar
    # measured against 16 cores × the default vCPU ratio 4 and 64 GiB × memory ratio 1.
    assert " ".join(host_row(index, "host2")) == (
        "host2 up, 2 VMs (1 active) 4 of 64 vCPUs (16 cores × 4) 8 GiB of 64 GiB memory")
    assert 'style="width:12%"' in index  # 8 of 64 GiB
    assert row_of(index, "ldap")[1] == "ldap1, ldap2"
    assert "Health check" not in index  # no findings given: the section is left off


def test_host_page_of_an_unreachable_host_shows_its_last_known_vms(site: Site) -> None:
    page = site.html("hosts/host3.html")
    assert "Unreachable since 2025-03-01 12:10:00 UTC" in page
    assert row_of(page, "web1")[1] == "running (stale)"
    assert row_of(site.html("clusters/web.html"), "web1")[1:] == ["host3", "running (stale)"]


def test_vm_list_links_to_each_vm_page(site: Site) -> None:
    listing = site.html("vms.html")
    for vm in FARM:
        href = vm_page(vm.name).removesuffix(".md") + ".html"
        assert f'href="{href}"' in listing
        assert (site.out / href).is_file()


def test_vm_page_shows_its_configuration(site: Site) -> None:
    page = site.vm_html("ldap1")
    assert row_of(page, "Host")[1] == "host1"
    assert '<a href="../hosts/host1.html">host1</a>' in page
    assert row_of(page, "Memory")[1] == "4 GiB"
    assert row_of(page, "Bootloader")[1] == "/usr/lib/xen/bin/pygrub"
    assert row_of(page, "UUID")[1] == str(uuid.uuid5(uuid.NAMESPACE_DNS, "ldap1"))
    assert row_of(page, "Last seen")[1] == "at the last refresh"
    assert row_of(page, mac("ldap1", 0))[1:4] == ["br100", "100", "—"]  # tagged in the XML
    assert row_of(page, mac("ldap1", 1))[1:4] == ["br200", "—", "—"]  # host1 reports no facts
    assert row_of(page, "xvda")[2:6] == ["/dev/vg0/ldap1-root", "vg0", "no: only host1 reaches it",
                                         "10 GiB"]
    assert "Stale since" not in page


def test_vm_page_lists_recent_changes_newest_first(site: Site) -> None:
    rows = [row for row in tables(site.vm_html("ldap1")).rows if row and row[0].startswith("2025-")]
    assert [(r[1], r[2], r[3], r[4]) for r in rows] == [
        ("config", "memory_mib", "2048", "4096"),
        ("created", "host", "—", "host1"),
    ]
    assert rows[0][5:] == ["refresh", "alice"]


def test_vm_page_shows_drift_from_its_baseline(site: Site) -> None:
    page = site.vm_html("ldap1")
    assert "1 difference from the baseline taken 2025-03-01 12:00:00 UTC" in page
    assert row_of(page, "memory_mib")[1:] == ["2048", "4096"]
    assert "No drift: the configuration matches the baseline" in site.vm_html("ldap2")


def test_stale_vm_page_shows_the_notice(site: Site) -> None:
    page = site.vm_html("web1")
    assert 'class="admonition warning"' in page
    assert "Stale since 2025-03-01 12:10:00 UTC" in page
    assert "as it was last seen, at 2025-03-01 12:00:00 UTC" in page
    assert row_of(page, "Last seen")[1] == "2025-03-01 12:00:00 UTC"


def test_untrusted_names_stay_text(site: Site) -> None:
    index, page = site.html("vms.html"), site.vm_html(EVIL)
    row = row_of(index, EVIL)  # one cell holds the whole name: the | did not split the row
    assert row[1:3] == ["host1", "running"]
    assert len(row) == 6
    assert row_of(page, mac(EVIL, 0))[1] == EVIL_BRIDGE
    for text in (index, page):
        assert "<b>y</b>" not in text
        assert "<i>0</i>" not in text
        parsed = tables(text)
        assert not {"b", "i"} & set(parsed.tags)
        assert "onclick" not in parsed.attrs  # attr_list did not read the bridge's {: …}
    # Material prints the title through striptags, which would unescape entities back into tags.
    assert re.search(r"<title>x\|&lt;b&gt;y&lt;/b&gt; - Test farm</title>", page)


def test_search_index_holds_every_vm(site: Site) -> None:
    index = json.loads(site.html("search/search_index.json"))
    titles = {doc["title"] for doc in index["docs"]}
    assert {"ldap1", "imap1", "web1"} <= titles
    # The pages listing every VM stay out: a search for a VM finds its page, not every list naming it.
    pages = {doc["location"].split("#")[0] for doc in index["docs"]}
    assert {"index.html", "networks.html"} <= pages
    assert not {"vms.html", "farm.html", "audit.html"} & pages
    assert (site.out / "search" / "search_index.js").is_file()  # the offline plugin's copy


def test_site_loads_nothing_from_the_internet(site: Site) -> None:
    for rel in ("index.html", vm_page("ldap1").removesuffix(".md") + ".html"):
        text = site.html(rel)
        assert not re.findall(r"""<(?:script|link|img)[^>]+(?:src|href)="(?:https?:)?//""", text)
        assert "iframe-worker-shim.js" in text
    assert (site.out / "js" / "iframe-worker-shim.js").is_file()


def test_unchanged_rebuild_rewrites_no_markdown(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    site = new_site(tmp_path)
    before = md_mtimes(site.work)
    with caplog.at_level(logging.INFO):
        result = site.build()
    assert any("Documentation built" in r.getMessage() for r in caplog.records)  # mkdocs is heard
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not [r for r in caplog.records if "not included in the" in r.getMessage()]  # nav: index only
    assert md_mtimes(site.work) == before
    assert (result.markdown_written, result.markdown_deleted) == (0, 0)
    assert (site.out / "index.html").is_file()


def test_changed_vm_rewrites_only_its_page_and_the_index(tmp_path: Path) -> None:
    site = new_site(tmp_path)
    before = md_mtimes(site.work)
    farm = [replace(vm, vcpus=8) if vm.name == "ldap2" else vm for vm in FARM_NOW]
    refresh(site.inv, farm, minutes=20, unreachable=("host3",))
    site.build()
    after = md_mtimes(site.work)
    # The overview (host capacity), the VM list, its host's page and its own page.
    assert {rel for rel in after if after[rel] != before[rel]} == {
        "index.md", "vms.md", "hosts/host2.md", vm_page("ldap2")}
    assert row_of(site.vm_html("ldap2"), "vCPUs")[1] == "8"


def test_removed_vm_page_disappears(tmp_path: Path) -> None:
    site = new_site(tmp_path)
    gone = site.out / (vm_page("ldap2").removesuffix(".md") + ".html")
    assert gone.is_file()
    refresh(site.inv, [vm for vm in FARM_NOW if vm.name != "ldap2"], minutes=20, unreachable=("host3",))
    result = site.build()
    assert result.markdown_deleted == 1
    assert not (site.work / vm_page("ldap2")).exists()
    assert not gone.exists()
    assert "ldap2" not in {row[0] for row in tables(site.html("vms.html")).rows if row}


def test_empty_inventory_builds(tmp_path: Path) -> None:
    result = build_site(Inventory(tmp_path / "state"), title=TITLE, out=tmp_path / "site",
                        work=tmp_path / "src")
    assert result.pages == 5
    assert "No refresh has been recorded yet." in (tmp_path / "site" / "index.html").read_text()


def test_site_folder_inside_the_markdown_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="must be apart"):
        build_site(Inventory(tmp_path / "state"), title=TITLE, out=tmp_path / "src" / "site",
                   work=tmp_path / "src")


def test_folder_of_other_files_is_not_emptied(tmp_path: Path) -> None:
    precious = tmp_path / "home" / "notes.txt"
    precious.parent.mkdir()
    precious.write_text("keep me")
    with pytest.raises(ValueError, match="holds no earlier site"):
        build_site(Inventory(tmp_path / "state"), title=TITLE, out=precious.parent, work=tmp_path / "src")
    assert precious.read_text() == "keep me"


def test_title_is_text_not_html(tmp_path: Path) -> None:
    build_site(Inventory(tmp_path / "state"), title="R&D <farm>", out=tmp_path / "site",
               work=tmp_path / "src")
    index = (tmp_path / "site" / "index.html").read_text()
    assert "<farm>" not in index
    assert "<title>R&amp;D &lt;farm&gt;</title>" in index


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("ldap1", "ldap1"),
        ("db-2.prod", "db-2.prod"),
        (EVIL, "x-b-y-b-" + page_slug(EVIL)[-10:]),
        ("index", "index-" + page_slug("index")[-10:]),
        ("../etc/passwd", "etc-passwd-" + page_slug("../etc/passwd")[-10:]),
    ],
)
def test_page_slug_is_a_safe_file_name(name: str, slug: str) -> None:
    assert page_slug(name) == slug
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", page_slug(name))
    assert page_slug("a|b") != page_slug("a<b")


@pytest.mark.parametrize(
    ("value", "markdown"),
    [
        ("plain-name_1", "plain-name&#95;1"),
        ("a|b", "a&#124;b"),
        ("<b>&", "&lt;b&gt;&amp;"),
        ("{: .x}", "&#123;: .x&#125;"),
        ("two\nlines", "two lines"),
    ],
)
def test_md_escape(value: str, markdown: str) -> None:
    assert md_escape(value) == markdown


def test_overview_lists_health_check_findings(tmp_path: Path) -> None:
    inv = make_inventory(tmp_path / "state")
    findings = [Finding("degraded-bond", "host7", "bond1 has lost eth3", "critical"),
                Finding("shared-host", "imap", "imap1 and imap2 | share host2")]
    build_site(inv, title=TITLE, out=tmp_path / "site", work=tmp_path / "src", findings=findings)
    index = (tmp_path / "site" / "index.html").read_text()
    assert row_of(index, "critical") == ["critical", "degraded-bond", "host7", "bond1 has lost eth3"]
    assert row_of(index, "warning")[3] == "imap1 and imap2 | share host2"
    build_site(inv, title=TITLE, out=tmp_path / "site", work=tmp_path / "src", findings=[])
    assert "the health check found nothing wrong" in (tmp_path / "site" / "index.html").read_text()


def test_host_page_shows_maintenance_and_the_hosts_own_storage_and_hypervisor_view(tmp_path: Path) -> None:
    facts = HostFacts(storage=(Storage("/var/lib/xen/images", 500 * 2**30, 120 * 2**30),),
                      node=NodeView("xl info", cpus=16, memory_mib=65536, free_memory_mib=30720,
                                    version="Xen 4.17.3"))
    HOSTS[1] = replace(HOSTS[1], facts=facts)
    try:
        site = new_site(tmp_path)
        site.inv.set_maintenance("host2", on=True, at=T0, user="alice")
        site.build()
        host2 = site.html("hosts/host2.html")
        assert "In maintenance since 2025-03-01 12:00:00 UTC, by alice" in host2
        assert "evacuate host2" in host2
        assert row_of(host2, "/var/lib/xen/images")[1:] == ["500 GiB", "120 GiB"]
        assert row_of(host2, "xl info")[1] == "16 CPUs, 64 GiB, 30 GiB free, Xen 4.17.3"
        assert "In maintenance" not in site.html("hosts/host1.html")
    finally:
        HOSTS[1] = make_host("host2")


def test_capacity_bars_turn_amber_then_red_near_the_configured_ratio(tmp_path: Path) -> None:
    """host2 holds 4 active vCPUs on 16 cores: at ratio 0.3 that is 83 % (amber), at 0.25 all of it (red)."""
    from hypervisor.placement import Limits

    inv = make_inventory(tmp_path / "state")
    for ratio, level, allowed in ((4.0, "ok", 64), (0.3, "near", 5), (0.25, "full", 4)):
        build_site(inv, title=TITLE, out=tmp_path / "site", work=tmp_path / "src",
                   limits=Limits(cpu_ratio=ratio))
        index = (tmp_path / "site" / "index.html").read_text()
        row = re.search(r'<div class="g-host-row"><span class="g-host-name"><a [^>]*>host2</a>.*', index)
        assert row, index
        assert f'<div class="g-bar g-{level}" title="4 of {allowed} vCPUs' in row.group(0)


def test_host_and_vm_pages_say_which_pools_and_disks_are_shared(tmp_path: Path) -> None:
    # host1's vg0 is an iSCSI pool: shared by its type. host2's vg0 is a plain LVM group.
    HOSTS[0] = replace(HOSTS[0], pools=(Pool("vg0", 2**40, 2**39, 2**39, kind="iscsi-direct"),
                                        Pool("scratch", 2**30, 0, 2**30, kind="dir")))
    try:
        site = new_site(tmp_path)
        host1 = site.html("hosts/host1.html")
        assert row_of(host1, "vg0")[1:3] == ["iscsi-direct", "yes"]
        assert row_of(host1, "scratch")[1:3] == ["dir", "no: only this host reaches it"]
        assert row_of(site.vm_html("ldap1"), "xvda")[3:5] == ["vg0", "yes"]  # on host1
        assert row_of(site.vm_html("imap1"), "xvda")[3:5] == ["vg0", "no: only host2 reaches it"]
        # A pool the fleet config names shared is shared on every host.
        build_site(site.inv, title=TITLE, out=site.out, work=site.work, shared_pools=("vg0", "scratch"))
        assert row_of(site.html("hosts/host1.html"), "scratch")[1:3] == ["dir", "yes"]
        assert row_of(site.vm_html("imap1"), "xvda")[3:5] == ["vg0", "yes"]
    finally:
        HOSTS[0] = make_host("host1")


def test_farm_map_lists_each_clusters_hosts_when_a_grid_would_be_too_wide(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = new_site(tmp_path)
    grid = site.html("farm.html")
    assert 'class="g-matrix"' in grid  # 3 hosts: the cluster × host grid
    monkeypatch.setattr("sitegen.render.DENSE_MATRIX_HOSTS", 1)
    site.build()
    listed = site.html("farm.html")
    assert 'class="g-matrix"' not in listed
    assert row_of(listed, "ldap")[1] == "host1, host2"
    assert row_of(listed, "web")[1] == "host3"


def test_host_and_vm_pages_say_since_when_they_are_up(tmp_path: Path) -> None:
    from hypervisor.host_model import DomainStart

    booted, started = datetime(2026, 11, 18, 4, 12, 30, tzinfo=UTC), datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
    domains = (DomainStart("Domain-0", 0, int(booted.timestamp()) + 20),
               DomainStart("ldap1", 14, int(started.timestamp())))
    HOSTS[0] = replace(HOSTS[0], facts=HostFacts(booted_at=int(booted.timestamp()), domains=domains))
    try:
        site = new_site(tmp_path)
        assert row_of(site.html("hosts/host1.html"), "Uptime")[1] == "up since 2026-11-18 04:12 UTC"
        assert row_of(site.html("hosts/host2.html"), "Uptime")[1] == (
            "unknown: no facts were read from host2 over SSH at the last refresh")
        assert summary_row(site.vm_html("ldap1"), "Uptime") == "up since 2026-11-29 09:00 UTC"
        assert summary_row(site.vm_html(EVIL), "Uptime") == (
            "unknown: not listed by `xl uptime` on host1 at the last refresh")
        assert summary_row(site.vm_html("ldap2"), "Uptime") is None  # shut off
    finally:
        HOSTS[0] = make_host("host1")


def summary_row(page: str, label: str) -> str | None:
    """The text of a row of a VM page's summary card, or None if it has none."""
    found = re.search(rf'<span class="g-k">{label}</span> <span class="g-v">(.*?)</span></div>', page)
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1))) if found else None
