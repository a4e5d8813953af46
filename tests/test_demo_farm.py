"""The demo farm generator and the domain XML builder, checked through libvirt's test driver."""

from __future__ import annotations

import getpass
import re
import tomllib
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

import libvirt
import pytest

from granja.config import load_config
from granja.demo import ensure_demo_farm, generate_farm
from hypervisor.domain_build import GRANJA_NS, PYGRUB, TEST_NS, build_domain
from hypervisor.domain_xml import parse_domain
from hypervisor.model import NIC, VM, Disk, GranjaMeta, Virt, VMState

CLUSTER_SIZES = {"ldap": 5, "imap": 8, "smtp": 4, "lists": 2, "web": 4, "webmail": 5, "db": 2,
                 "samba": 2, "ftp": 2}
NS = {"granja": GRANJA_NS}


def _uri_path(uri: str) -> Path:
    assert uri.startswith("test:///")
    return Path(uri[len("test://"):])


def _read_farm(config: Path) -> dict[str, list[ET.Element]]:
    """Every host's domains as libvirt returns them, by host name."""
    farm = tomllib.loads(config.read_text())
    domains = {}
    for name, host in farm["hosts"].items():
        conn = libvirt.open(host["uri"])
        try:
            domains[name] = [ET.fromstring(d.XMLDesc()) for d in conn.listAllDomains()]
        finally:
            conn.close()
    return domains


def _cluster(domain: ET.Element) -> str:
    return domain.findtext("metadata/granja:vm/granja:cluster", "", NS)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_demo_farm(tmp_path_factory.mktemp("state"))


@pytest.fixture(scope="module")
def domains(demo: Path) -> dict[str, list[ET.Element]]:
    return _read_farm(demo)


def test_demo_farm_has_15_hosts_and_at_least_50_domains(demo, domains):
    assert demo.name == "farm.toml"
    assert sorted(domains) == [f"host{i:02d}" for i in range(1, 16)]
    assert sum(len(d) for d in domains.values()) >= 50
    assert all(domains.values()), "every host runs something"


def test_clusters_have_their_sizes_and_members_on_distinct_hosts(domains):
    hosts_of: dict[str, list[str]] = defaultdict(list)
    for host, doms in domains.items():
        for dom in doms:
            if cluster := _cluster(dom):
                hosts_of[cluster].append(host)
                assert re.fullmatch(f"{cluster}[0-9]+", dom.findtext("name", ""))
    assert {c: len(h) for c, h in hosts_of.items()} == CLUSTER_SIZES
    for cluster, hosts in hosts_of.items():
        assert len(set(hosts)) == len(hosts), f"two {cluster} members share a host"


def test_standalone_servers(domains):
    standalone = [d.findtext("name") for doms in domains.values() for d in doms if not _cluster(d)]
    assert len(standalone) >= 16
    assert {"dns1", "dns2", "ntp", "monitoring", "backup", "proxy1", "vpn", "git"} <= set(standalone)


def test_every_guest_is_xen_pv_with_a_bootloader_or_kernel(domains):
    for dom in (d for doms in domains.values() for d in doms):
        assert dom.findtext("os/type") == "xen"
        assert dom.findtext("bootloader") == PYGRUB or dom.findtext("os/kernel")


def test_macs_are_unique_and_in_xens_prefix(domains):
    macs = [m.get("address", "") for doms in domains.values() for d in doms
            for m in d.iterfind("devices/interface/mac")]
    assert all(mac.startswith("00:16:3e:") for mac in macs)
    assert [m for m, n in Counter(macs).items() if n > 1] == []
    assert all(2 <= len(d.findall("devices/interface")) <= 3 for ds in domains.values() for d in ds)


def test_every_nic_bridge_exists_on_its_host_over_a_bond_vlan(demo, domains):
    farm = tomllib.loads(demo.read_text())
    declared = {net["bridge"] for net in farm["networks"].values()}
    for name, host in farm["hosts"].items():
        conn = libvirt.open(host["uri"])
        ifaces = {i.name(): ET.fromstring(i.XMLDesc()) for i in conn.listAllInterfaces()}
        conn.close()
        modes = {n: b.get("mode") for n, x in ifaces.items() for b in x.iterfind("bond")}
        assert modes == {"bond0": "802.3ad", "bond1": "active-backup"}
        bridges = {n for n, x in ifaces.items() if x.get("type") == "bridge"}
        used = {s.get("bridge") for d in domains[name] for s in d.iterfind("devices/interface/source")}
        assert used <= bridges & declared, f"{name} lacks bridges {used - bridges}"
        for bridge in used:
            ports = [(p.get("type"), p.get("name", "")[:4])
                     for p in ifaces[bridge].iterfind("bridge/interface")]
            assert ports == [("vlan", "bond")], f"{bridge} on {name} is not over a bond's VLAN"


def test_some_domains_are_shut_off_and_some_paused(demo):
    states: Counter[int] = Counter()
    for host in tomllib.loads(demo.read_text())["hosts"].values():
        conn = libvirt.open(host["uri"])
        states.update(d.state()[0] for d in conn.listAllDomains())
        conn.close()
    assert states[libvirt.VIR_DOMAIN_SHUTOFF] >= 2
    assert 1 <= states[libvirt.VIR_DOMAIN_PAUSED] <= 2
    assert states[libvirt.VIR_DOMAIN_RUNNING] > states[libvirt.VIR_DOMAIN_SHUTOFF]


def test_disks_are_volumes_of_the_local_pool(demo, domains):
    farm = tomllib.loads(demo.read_text())
    for name, host in farm["hosts"].items():
        conn = libvirt.open(host["uri"])
        pool = conn.storagePoolLookupByName("local")
        volumes = {v.path(): v.info()[1] for v in pool.listAllVolumes()}
        conn.close()
        for dom in domains[name]:
            files = [s.get("file") for s in dom.iterfind("devices/disk/source")]
            assert files
            assert all(volumes.get(f, 0) > 0 for f in files)
            if _cluster(dom) in ("db", "imap"):
                assert len(files) == 2, "database and mailbox servers have a data disk"


def test_autostart_marks_name_domains_of_their_host(demo, domains):
    marked = 0
    for path in demo.parent.glob("host*.xml"):
        names = {d.findtext("name") for d in domains[path.stem]}
        root = ET.parse(path).getroot()
        autostart = [e.get("domain") for e in root.iter(f"{{{GRANJA_NS}}}autostart")]
        assert set(autostart) <= names
        marked += len(autostart)
    members = sum(1 for doms in domains.values() for d in doms if _cluster(d))
    assert marked > members * 0.8


def test_farm_toml_is_consistent(demo, domains):
    farm = tomllib.loads(demo.read_text())
    assert farm["farm"]["name"] == "Demo farm"
    assert all(_uri_path(h["uri"]).is_file() and h["facts"] == "node" for h in farm["hosts"].values())
    bridges = {net["bridge"] for net in farm["networks"].values()}
    for cluster in farm["clusters"].values():
        template = farm["templates"][cluster["template"]]
        assert set(template["networks"]) <= set(farm["networks"])
    nic_bridges = {s.get("bridge") for ds in domains.values() for d in ds
                   for s in d.iterfind("devices/interface/source")}
    assert nic_bridges <= bridges
    roles = {user: body["role"] for user, body in farm["users"].items()}
    assert roles | {"alice": "viewer", "bob": "operator"} == roles
    assert roles[getpass.getuser()] == "admin"


def test_granja_config_loads_the_demo_farm(demo):
    fleet = load_config(demo)
    assert len(fleet.hosts) == 15
    assert fleet.cluster_for_name("imap7").name == "imap"
    assert fleet.cluster_for_name("webmail2").name == "webmail"
    assert fleet.cluster_for_name("dns1") is None


def test_ensure_demo_farm_twice_leaves_files_alone(tmp_path):
    config = ensure_demo_farm(tmp_path)
    files = sorted(config.parent.iterdir())
    before = {p: p.stat().st_mtime_ns for p in files}
    host = config.parent / "host01.xml"
    host.write_text(host.read_text() + "<!-- written back -->\n")  # as a state write-back does
    before[host] = host.stat().st_mtime_ns
    assert ensure_demo_farm(tmp_path) == config
    assert host.read_text().endswith("<!-- written back -->\n")
    assert {p: p.stat().st_mtime_ns for p in sorted(config.parent.iterdir())} == before


def test_generation_is_deterministic(tmp_path):
    first = ensure_demo_farm(tmp_path / "a").parent
    second = ensure_demo_farm(tmp_path / "b").parent
    for path in first.glob("host*.xml"):
        assert path.read_bytes() == (second / path.name).read_bytes()


def test_generate_farm_refuses_to_overwrite_a_farm(tmp_path):
    generate_farm(tmp_path, hosts=2, vms=5)
    with pytest.raises(FileExistsError):
        generate_farm(tmp_path, hosts=2, vms=5)


def test_generate_farm_scales(tmp_path):
    config = generate_farm(tmp_path / "big dir", hosts=50, vms=1000, seed=7)
    domains = _read_farm(config)
    assert len(domains) == 50
    everything = [d for doms in domains.values() for d in doms]
    names = [d.findtext("name") for d in everything]
    assert len(names) == len(set(names)) == 1000
    hosts_of: dict[str, list[str]] = defaultdict(list)
    for host, doms in domains.items():
        for dom in doms:
            if cluster := _cluster(dom):
                hosts_of[cluster].append(host)
    assert all(len(set(h)) == len(h) for h in hosts_of.values())
    assert set(tomllib.loads(config.read_text())["clusters"]) == set(hosts_of)


def _vm(**changes: Any) -> VM:
    base = VM(
        name="web<1>&'x'", uuid="6f1c2b7e-0000-4000-8000-000000000001", host="h", state=VMState.RUNNING,
        vcpus=2, memory_mib=1024, max_memory_mib=2048, virt=Virt.PV, os_type="xen",
        bootloader=PYGRUB, on_crash="restart",
        disks=(Disk(target="xvda", source="/var/lib/xen/images/a b.img", bus="xen", kind="file"),
               Disk(target="xvdb", source="/dev/vg0/data", bus="xen", readonly=True, kind="block")),
        nics=(NIC(mac="00:16:3e:00:00:01", bridge="br10", model="netfront"),
              NIC(mac="00:16:3e:00:00:02", bridge="ovs0", vlan=120)),
        meta=GranjaMeta(cluster="web", template="web", baseline_id="b-1"), consoles=(),
    )
    return replace(base, **changes)


@pytest.mark.parametrize("vm", [_vm(), _vm(kernel="/boot/vmlinuz", bootloader=""),
                                _vm(meta=GranjaMeta()), _vm(virt=Virt.HVM, os_type="hvm", bootloader="")])
def test_build_domain_round_trips_through_parse_domain(vm):
    assert parse_domain(build_domain(vm), host="h", state=VMState.RUNNING) == vm


def test_build_domain_metadata_and_escaping():
    root = ET.fromstring(build_domain(_vm(meta=GranjaMeta(cluster="ldap"))))
    assert root.findtext("name") == "web<1>&'x'"
    block = root.findall(f"metadata/{{{GRANJA_NS}}}vm/*")
    assert [e.tag for e in block] == [f"{{{GRANJA_NS}}}cluster"]
    assert ET.fromstring(build_domain(_vm(meta=GranjaMeta()))).find("metadata") is None
    assert "granja:vm" in build_domain(_vm())


def test_test_domains_carry_their_runstate_and_define(demo):
    xml = build_domain(_vm(name="extra", state=VMState.PAUSED), domain_type="test")
    assert ET.fromstring(xml).findtext(f"{{{TEST_NS}}}runstate") == str(libvirt.VIR_DOMAIN_PAUSED)
    conn = libvirt.open(tomllib.loads(demo.read_text())["hosts"]["host01"]["uri"])
    try:
        dom = conn.defineXML(xml)
        assert dom.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, GRANJA_NS).startswith("<vm>")
    finally:
        conn.close()
