"""Stage 1 of the site: the inventory snapshot as Markdown pages, by path, with no I/O."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Hashable, Mapping, Sequence
from datetime import UTC, datetime

import jinja2
from markupsafe import Markup

from hypervisor.model import Usage
from hypervisor.placement import Limits
from hypervisor.shared_storage import reach_text, shared_pool_names
from hypervisor.uptime import Uptime, host_uptime, vm_uptime
from inventory.finding import Finding
from inventory.records import VMRecord
from sitegen import topology
from sitegen.export import export_csv, export_json
from sitegen.markdown import TEMPLATES, anchor, environment, link, md_escape
from sitegen.snapshot import FarmView

VM_DIR, HOST_DIR, CLUSTER_DIR = "vms", "hosts", "clusters"
SHIM = "js/iframe-worker-shim.js"  # named in mkdocs-base.yml's extra.polyfills
CSS = "css/granja.css"  # named in mkdocs-base.yml's extra_css
EXPORT_JSON, EXPORT_CSV = "inventory.json", "vms.csv"
# The pages in the navigation: every other page is reached from their tables, and search.
# Titled here, not read from the pages: an incremental build reads only the pages that changed.
# The farm map's cluster × host grid has a column per host with a member; past this many it
# becomes a list of each cluster's hosts (a grid of 865 clusters × 250 hosts is 6 MB of cells).
DENSE_MATRIX_HOSTS = 30
NAV = {"index.md": "", "farm.md": "Farm map", "vms.md": "All VMs", "networks.md": "Networks",
       "audit.md": "Audit"}  # "": the site's title

_PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}")
# mkdocs treats these as a folder's index page, and index.md beats README.md.
_RESERVED = {"index", "readme"}


def page_slug(name: str) -> str:
    """A file name for a page: the name itself if it is plain, else a cleaned name and a hash."""
    if _PLAIN_NAME.fullmatch(name) and not name.endswith(".") and name.lower() not in _RESERVED:
        return name
    # The hash keeps names that clean up alike ("a|b", "a<b") on separate pages.
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-")[:60] or "vm"
    return f"{cleaned}-{hashlib.sha256(name.encode()).hexdigest()[:10]}"


def vm_page(name: str) -> str:
    """Path of a VM's page, relative to the docs folder."""
    return f"{VM_DIR}/{page_slug(name)}.md"


def host_page(name: str) -> str:
    """Path of a host's page, relative to the docs folder."""
    return f"{HOST_DIR}/{page_slug(name)}.md"


def cluster_page(name: str) -> str:
    """Path of a cluster's page, relative to the docs folder."""
    return f"{CLUSTER_DIR}/{page_slug(name)}.md"


class Links:
    """Markdown links to VM, host and cluster pages from a page at a given folder depth."""

    def __init__(self, view: FarmView, *, up: str = "") -> None:
        self._up = up
        self._vms = {record.vm.name for record in view.vms}
        self._hosts = {record.name for record in view.hosts}

    def vm(self, name: str) -> Markup:
        """A link to the VM's page, or its name as text if it has none."""
        return link(name, self._up + vm_page(name)) if name in self._vms else md_escape(name)

    def host(self, name: str) -> Markup:
        """A link to the host's page, or its name as text if it has none."""
        return link(name, self._up + host_page(name)) if name in self._hosts else md_escape(name)

    def cluster(self, name: str) -> Markup:
        """A link to the cluster's page; a dash for no cluster."""
        return link(name, self._up + cluster_page(name)) if name else Markup("—")

    def page(self, rel: str) -> str:
        """The relative href of a top-level page or file."""
        return self._up + rel

    # Raw-HTML blocks (cards, the farm map) are not Markdown: their links name the built
    # .html page (the offline plugin turns directory URLs off, so x.md becomes x.html).
    def vm_a(self, name: str, css: str = "") -> Markup:
        """An HTML link to the VM's page, or its name as text if it has none."""
        return anchor(name, self._up + _html(vm_page(name)), css) if name in self._vms else md_escape(name)

    def host_a(self, name: str, css: str = "") -> Markup:
        """An HTML link to the host's page, or its name as text if it has none."""
        if name not in self._hosts:
            return md_escape(name)
        return anchor(name, self._up + _html(host_page(name)), css)

    def cluster_a(self, name: str, css: str = "") -> Markup:
        """An HTML link to the cluster's page; a dash for no cluster."""
        return anchor(name, self._up + _html(cluster_page(name)), css) if name else Markup("—")


def _html(page: str) -> str:
    return page.removesuffix(".md") + ".html"


class Networks:
    """VLAN ids in the words of the fleet config: 120 (mail), with the description on hover."""

    def __init__(self, names: Mapping[int, topology.NetworkName]) -> None:
        self._names = names

    def name(self, vlan: int | None) -> str:
        """The configured name of a VLAN, or an empty string."""
        known = None if vlan is None else self._names.get(vlan)
        return known.name if known else ""

    def description(self, vlan: int | None) -> str:
        """The configured description of a VLAN, or an empty string."""
        known = None if vlan is None else self._names.get(vlan)
        return known.description if known else ""

    def label(self, vlan: int | None) -> Markup:
        """"120 (mail)", or "120" for a VLAN the config does not name; a dash for none."""
        if vlan is None:
            return Markup("—")
        name = self.name(vlan)
        return md_escape(f"{vlan} ({name})" if name else vlan)


def render_pages(view: FarmView, *, title: str, findings: Sequence[Finding] | None = None,
                 resilience: str | None = None, networks: Sequence[topology.NetworkName] = (),
                 limits: Limits = topology.DEFAULT_LIMITS,
                 shared_pools: Collection[str] = (), reuse: bool = True) -> dict[str, str]:
    """Every page of the site as Markdown text, keyed by its path in the docs folder.

    `findings` is the farm health check's output, `resilience` the host failure figure in words;
    None leaves their sections off the overview. `networks` names the VLANs (the fleet config's),
    `limits` the commit ratios the capacity bars measure against; `shared_pools` (named shared
    in the fleet config) and shared pool types mark disks shared. With `reuse`, a VM page drawn
    from the same facts as one rendered earlier in this process is that page (`_VM_PAGES`).
    """
    env = environment()
    top, deep = Links(view), Links(view, up="../")
    nets = Networks({network.vlan: network for network in networks})
    common = {"title": title, "view": view, "last_refresh": view.last_refresh, "nets": nets}
    members = topology.clusters(view.vms)
    on_host = topology.by_host(view.vms)
    capacities = [topology.capacity(host, on_host.get(host.name, []), limits) for host in view.hosts]
    matrix = topology.cluster_hosts(members)
    pages = {
        "index.md": _render(env, "index.md.j2", common, links=top, findings=findings, clusters=members,
                            capacities=capacities, resilience=resilience),
        "farm.md": _render(env, "farm.md.j2", common, links=top, capacities=capacities, on_host=on_host,
                           matrix=matrix, dense_hosts=DENSE_MATRIX_HOSTS,
                           matrix_hosts=[c.record.name for c in capacities
                                         if any(c.record.name in r for r in matrix.values())]),
        "vms.md": _render(env, "vms.md.j2", common, links=top),
        "networks.md": _render(env, "networks.md.j2", common, links=top,
                               vlans=topology.vlan_uses(view.hosts, view.vms, nets_configured(networks))),
        "audit.md": _render(env, "audit.md.j2", common, links=top),
    }
    wires = {record.name: topology.wiring(record.host) for record in view.hosts}
    shared = {record.name: shared_pool_names(record.host.pools, shared_pools) for record in view.hosts}
    host_records = {record.name: record.host for record in view.hosts}
    vm_template = env.get_template("vm.md.j2")
    wired = {host: tuple(sorted(host_wires.items())) for host, host_wires in wires.items()}
    refreshed, named = view.last_refresh and view.last_refresh.at, tuple(networks)
    hosts = {record.name for record in view.hosts}
    reused: dict[Hashable, str] = {}
    shown_use: dict[str, tuple[Usage, str]] = {}
    for record in view.vms:
        name = record.vm.name
        baseline = view.baselines.get(name)
        changes = view.changes.get(name, ())
        # Everything the VM's page shows is drawn from these: an unchanged key, an unchanged page.
        # (What the VM uses is no part of a record's equality: the key holds it as the page words
        # it, rounded, so that a refresh's new figures rebuild only the pages whose words change.)
        host_shared = shared.get(record.vm.host, frozenset(shared_pools))
        uptime = uptime_cell(vm_uptime(record.vm, host_records.get(record.vm.host), _NOW_UNUSED))
        addresses, used = topology.guest_addresses(record), _steady_use(record, shown_use)
        key = _page_key(record, addresses, used,
                        baseline and (baseline.id, baseline.taken_at, baseline.taken_by), changes,
                        wired.get(record.vm.host), record.vm.host in hosts, record.last_seen == refreshed,
                        title, named, frozenset(host_shared), uptime)
        page = _VM_PAGES.get(key) if key is not None and reuse else None
        if page is None:
            page = vm_template.render(
                common, links=deep, record=record, vm=record.vm, drift=view.drift(record), baseline=baseline,
                changes=changes, nics=topology.nic_rows(record, wires.get(record.vm.host, {})),
                addresses=addresses, used=used,
                reach=[reach_text(disk, record.vm.host, host_shared) for disk in record.vm.disks],
                uptime=uptime,
            )
        if key is not None:
            reused[key] = page
        pages[vm_page(name)] = page
    _VM_PAGES.clear()  # kept to this farm's pages: the cache never outgrows the farm
    _VM_PAGES.update(reused)
    _USE_SHOWN.clear()
    _USE_SHOWN.update(shown_use)
    host_template = env.get_template("host.md.j2")
    for capacity in capacities:
        pages[host_page(capacity.record.name)] = host_template.render(
            common, links=deep, capacity=capacity, record=capacity.record, host=capacity.record.host,
            vms=on_host.get(capacity.record.name, []), maintenance=view.maintenance.get(capacity.record.name),
            shared=shared[capacity.record.name],
            uptime=uptime_cell(host_uptime(capacity.record.host, _NOW_UNUSED)),
        )
    cluster_template = env.get_template("cluster.md.j2")
    for name, records in members.items():
        pages[cluster_page(name)] = cluster_template.render(
            common, links=deep, name=name, members=records, shared=topology.shared_hosts(records))
    return pages


# A page shows when a host or VM started, not for how long (which a static page cannot keep right).
_NOW_UNUSED = datetime.fromtimestamp(0, UTC)


def uptime_cell(uptime: Uptime | None) -> str:
    """A host's or VM's uptime on its page: "up since 2026-11-18 04:12 UTC", "unknown: REASON", "" if off."""
    if uptime is None:
        return ""
    if uptime.since is None:
        return uptime.words
    return f"up since {uptime.since:%Y-%m-%d %H:%M} UTC"  # kept steady across refreshes (steady_starts)


# VM pages as last rendered in this process, by everything they are drawn from: the bot's
# publisher rebuilds after every change, and re-rendering 5,000 unchanged pages took longer
# than MkDocs' incremental build of the changed ones.
_VM_PAGES: dict[Hashable, str] = {}


# What each running VM's page last said it used, with the reading behind the words. A reading
# hovering on a rounding edge (a steady 45 % read as 44.9 and 45.1) would otherwise rebuild the
# page at every refresh; one within USE_JITTER of the reading shown says the same words.
_USE_SHOWN: dict[str, tuple[Usage, str]] = {}
USE_JITTER = 5.0  # CPU percentage points, and per cent of the memory used


def _steady_use(record: VMRecord, shown: dict[str, tuple[Usage, str]]) -> str:
    """The VM's use in words (topology.use_words), the words last shown while the reading stays near."""
    usage, words = record.vm.usage, topology.use_words(record)
    if usage is None or not words:
        return words
    before = _USE_SHOWN.get(record.vm.name)
    if before is not None and _near(before[0], usage):
        usage, words = before
    shown[record.vm.name] = (usage, words)
    return words


def _near(before: Usage, now: Usage) -> bool:
    """Whether two readings differ by less than USE_JITTER in CPU and memory (read in both, or neither)."""
    memory_jitter = USE_JITTER / 100 * (before.memory_used_mib or 0)
    return (_within(before.cpu_percent, now.cpu_percent, USE_JITTER)
            and _within(before.memory_used_mib, now.memory_used_mib, memory_jitter))


def _within(before: float | None, now: float | None, jitter: float) -> bool:
    if before is None or now is None:
        return before is None and now is None
    return abs(now - before) < jitter


def _page_key(*parts: object) -> Hashable | None:
    """The parts as a dictionary key, or None if one cannot be hashed (a change holding a dict)."""
    try:
        hash(parts)
    except TypeError:
        return None
    return parts


def nets_configured(networks: Sequence[topology.NetworkName]) -> list[int]:
    """The VLAN ids the fleet config names."""
    return [network.vlan for network in networks]


def _render(env: jinja2.Environment, template: str, common: dict[str, object], **extra: object) -> str:
    return env.get_template(template).render(common, **extra)


def static_files(view: FarmView) -> dict[str, str | bytes]:
    """Files copied into the site as they are: the exports and the file:// Web Worker shim."""
    return {
        SHIM: (TEMPLATES / "iframe-worker-shim.js").read_bytes(),
        CSS: (TEMPLATES / "granja.css").read_bytes(),
        EXPORT_JSON: export_json(view),
        EXPORT_CSV: export_csv(view),
    }
