"""Every real Xen definition, recorded at a refresh and recovered on another test host, comes back the same.

The 32 samples of ../shared/realdata/domxml are put on one simulated host of the demo farm,
which then goes down; `recover` starts them elsewhere, and libvirt's own XML of each is
compared, before and after, in the parts a guest needs (boot, vCPUs, memory, disks, NICs).

Fixture adjustments, for libvirt's test driver only (none changes those parts): the domain
type `xen` becomes `test`; `<input bus='xen'>` is dropped (the test driver refuses input
devices); old xend's OS type `linux` becomes `xen` (what libvirt's Xen driver makes of it:
the test driver would otherwise drop kernel, initrd and cmdline); each sample gets its own
name and UUID (several share `XenGuest2`); an Open vSwitch port gets a fixed interfaceid (the
test driver would make a new one each time it reads its node file, as a real host does not);
an NBD disk served on a unix socket (which only its own host reaches, so `recover` rightly
leaves its VM) is served over TCP instead. The disks' folders become shared pools on every
host, so the recovery may place each VM anywhere.

One deliberate change: granja keeps no console password, so a console that had one, or that
listened beyond loopback, comes back listening on 127.0.0.1 only; the preview and the result say
so for that VM, with how to reopen it, and `diff` shows the console's difference from the baseline.
"""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import libvirt
import pytest

from bot.results import Outcome
from granja.app import open_engine
from tests.conftest import Chat
from tests.hypervisor.test_domxml_samples import PATHS
from tests.scenarios.test_unreachable import break_hosts

DOWN = "host03"


def _adjusted(path: Path) -> ET.Element:
    root = ET.fromstring(path.read_text())
    root.set("type", "test")
    root.attrib.pop("id", None)
    root.find("name").text = path.stem
    root.find("uuid").text = str(uuid.uuid5(uuid.NAMESPACE_URL, path.name))
    if root.findtext("os/type") == "linux":
        root.find("os/type").text = "xen"
    devices = root.find("devices")
    for port in devices.findall("interface/virtualport[@type='openvswitch']"):
        if port.find("parameters") is None:  # else the test driver makes a new one at every open
            ET.SubElement(port, "parameters", interfaceid=str(uuid.uuid5(uuid.NAMESPACE_URL, path.name)))
    for server in devices.findall("disk/source/host[@transport='unix']"):
        server.attrib = {"name": "nbd.example.org", "port": "10809"}  # a socket is on its host only
    for element in devices.findall("input"):
        if element.get("bus") == "xen":
            devices.remove(element)
    return root


def _pool_dirs(roots: list[ET.Element]) -> dict[str, set[str]]:
    """Folder -> file names of every file or block disk of the samples."""
    dirs: dict[str, set[str]] = {}
    for root in roots:
        for disk in root.findall("devices/disk"):
            source = disk.find("source")
            path = None if source is None else (source.get("file") or source.get("dev"))
            if path and path.startswith("/"):
                folder, name = path.rsplit("/", 1)
                dirs.setdefault(folder or "/", set()).add(name)
    return dirs


def _pool(node: ET.Element, name: str, folder: str, files: set[str]) -> None:
    """Add the files to the node's pool on `folder` (the demo's `local` holds /var/lib/xen/images)."""
    pool = next((p for p in node.findall("pool") if p.findtext("target/path") == folder), None)
    if pool is None:
        pool = ET.SubElement(node, "pool", type="dir")
        ET.SubElement(pool, "name").text = name
        ET.SubElement(ET.SubElement(pool, "target"), "path").text = folder
    for file in sorted(files):
        volume = ET.SubElement(pool, "volume", type="file")
        ET.SubElement(volume, "name").text = file
        ET.SubElement(volume, "capacity", unit="bytes").text = str(2**30)


def _parts(xml: str) -> dict:
    """What recovery must keep, read from libvirt's own XML of the domain."""
    root = ET.fromstring(xml)

    def canon(element: ET.Element | None) -> str:
        return "" if element is None else ET.canonicalize(ET.tostring(element), strip_text=True)

    def device(element: ET.Element) -> str:
        copy = ET.fromstring(ET.tostring(element))
        for address in copy.findall("address"):
            copy.remove(address)  # where the device sits on the guest's bus is the host's choice
        return canon(copy)

    return {
        "os": canon(root.find("os")), "bootloader": root.findtext("bootloader"),
        "bootloader_args": root.findtext("bootloader_args"), "vcpu": canon(root.find("vcpu")),
        "memory": canon(root.find("memory")), "currentMemory": canon(root.find("currentMemory")),
        "disks": [device(d) for d in root.findall("devices/disk")],
        "nics": [device(i) for i in root.findall("devices/interface")],
        "graphics": [device(g) for g in root.findall("devices/graphics")],
    }


def _closed(xml: str) -> str:
    """The definition with its consoles on 127.0.0.1 only, as recovery brings back an open one."""
    root = ET.fromstring(xml)
    for graphics in root.findall("devices/graphics"):
        graphics.set("listen", "127.0.0.1")
        for listen in graphics.findall("listen"):
            listen.set("address", "127.0.0.1")
    return ET.tostring(root, encoding="unicode")


def _sample_console(path: Path) -> str:
    """'open' for a sample whose VNC console listens beyond loopback, 'password' for one that had a
    password (on loopback), else ''."""
    text = path.read_text()
    return "open" if "listen='0.0.0.0'" in text else "password" if "passwd=" in text else ""


@pytest.fixture(scope="module")
def recovered(tmp_path_factory, pristine_demo):
    """Put every sample on DOWN, refresh, take DOWN away, recover it; what each host's libvirt says."""
    import shutil

    state = tmp_path_factory.mktemp("samples") / "state"
    shutil.copytree(pristine_demo, state)
    config = state / "demo" / "farm.toml"
    roots = [_adjusted(path) for path in PATHS]
    dirs = _pool_dirs(roots)
    pools = {f"realdata{number}": folder for number, folder in enumerate(sorted(dirs))}
    text = config.read_text().replace(str(pristine_demo), str(state))
    shared = ", ".join(f'"{name}"' for name in [*pools, "defaultPool"])
    config.write_text(text.replace('shared_pools = ["local"]', f'shared_pools = ["local", {shared}]'))
    for node in (state / "demo").glob("host*.xml"):
        tree = ET.parse(node)
        for name, folder in pools.items():
            _pool(tree.getroot(), name, folder, dirs[folder])
        _pool(tree.getroot(), "defaultPool", "/var/lib/libvirt/defaultPool", {"foobar"})
        if node.stem == DOWN:
            for root in roots:
                tree.getroot().append(root)
        tree.write(node, encoding="unicode")

    chat = Chat(open_engine(config=None, state=str(state)))
    assert chat.send("refresh").outcome is Outcome.OK, chat.transcript
    before = {}
    conn = libvirt.open(chat.engine.farm.driver(DOWN).uri)
    try:
        for path in PATHS:
            before[path.stem] = conn.lookupByName(path.stem).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    finally:
        conn.close()

    break_hosts(state, **{DOWN: f"test:///nonexistent/{DOWN}.xml"})
    chat = Chat(open_engine(config=None, state=str(state)))
    reply = chat.send(f"recover {DOWN}")
    assert reply.outcome is Outcome.OK, chat.transcript
    return chat, before, chat.transcript


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_a_real_definition_comes_back_the_same_after_recover(recovered, path):
    chat, before, transcript = recovered
    name = path.stem
    record = chat.engine.inventory.vm(name)
    assert record is not None, transcript
    assert record.vm.host != DOWN, transcript
    assert f"started    {name} → {record.vm.host}" in transcript
    conn = libvirt.open(chat.engine.farm.driver(record.vm.host).uri)
    try:
        dom = conn.lookupByName(name)
        assert dom.isActive()
        after = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    finally:
        conn.close()
    console = _sample_console(path)
    assert _parts(after) == _parts(_closed(before[name]) if console == "open" else before[name])
    said = [line for line in transcript.splitlines() if line.lstrip().startswith(f"console {name}:")
            or line.lstrip().startswith(f"{name}: its VNC console")]
    reply = chat.send(f"diff {name}")
    assert reply.outcome is Outcome.OK
    if console == "open":  # the preview and the result say so, with how to reopen it; diff shows it
        assert len(said) == 2, transcript
        assert all(f"{name}: its VNC console comes back listening on 127.0.0.1 only (it listened on 0.0.0.0 "
                   "with no password); to reopen it, on " in line for line in said), said
        assert all(f"then the listen address (0.0.0.0) with virsh edit {name}" in line for line in said)
        assert "consoles: vnc on 0.0.0.0 → vnc on 127.0.0.1" in chat.transcript, chat.transcript
    elif console == "password":
        assert len(said) == 2, transcript
        assert all(f"{name}: its VNC console comes back without its password (granja does not keep it), "
                   f"still on 127.0.0.1; to reopen it, on {record.vm.host}: virsh update-device {name} FILE "
                   "--live --config" in line for line in said), said
        assert "consoles: vnc on 127.0.0.1 with a password → vnc on 127.0.0.1" in chat.transcript, \
            chat.transcript
    else:  # granja sees no drift: the definition is the one its baseline was taken from
        assert said == []
        assert re.fullmatch(rf"{name} against its baseline of .*: no differences\.", chat.transcript), \
            chat.transcript


def test_no_console_password_is_kept_anywhere_in_the_state(recovered):
    """Reading the definitions with their secrets (to know a console had a password) stores none."""
    chat, _before, _transcript = recovered
    found = [path for path in chat.engine.inventory.directory.rglob("*") if path.is_file()
             and b"123poi" in path.read_bytes() and "demo" not in path.parts]
    assert found == []


def test_a_shared_pool_mounted_elsewhere_on_the_target_moves_only_the_disk_paths(state):
    """The demo's `local` stands for NFS: mounted at /srv/nfs/images on every host but the down one."""
    down = "host02"
    for node in (state / "demo").glob("host*.xml"):
        if node.stem != down:
            node.write_text(node.read_text().replace("<path>/var/lib/xen/images</path>",
                                                     "<path>/srv/nfs/images</path>"))
    chat = Chat(open_engine(config=None, state=str(state)))
    chat.send("refresh")
    running = [r.vm for r in chat.engine.inventory.vms_on(down) if r.vm.state.active]
    assert running
    recorded = {vm.name: ET.fromstring(vm.definition) for vm in running}
    break_hosts(state, **{down: f"test:///nonexistent/{down}.xml"})
    chat = Chat(open_engine(config=None, state=str(state)))
    assert chat.send(f"recover {down}").outcome is Outcome.OK, chat.transcript
    for name, before in recorded.items():
        host = chat.engine.inventory.vm(name).vm.host
        conn = libvirt.open(chat.engine.farm.driver(host).uri)
        try:
            after = ET.fromstring(conn.lookupByName(name).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
        finally:
            conn.close()
        sources = [d.find("source").get("file") for d in before.findall("devices/disk")]
        assert sources
        assert all(s.startswith("/var/lib/xen/images/") for s in sources)
        assert [d.find("source").get("file") for d in after.findall("devices/disk")] == [
            s.replace("/var/lib/xen/images/", "/srv/nfs/images/") for s in sources]
        for disk in after.findall("devices/disk"):
            disk.find("source").set("file", disk.find("source").get("file").replace(
                "/srv/nfs/images/", "/var/lib/xen/images/"))
        as_text = [ET.tostring(root, encoding="unicode") for root in (after, before)]
        assert _parts(as_text[0]) == _parts(as_text[1])


def test_a_network_disk_keeps_no_vm_back_and_a_local_one_does():
    """An iSCSI LUN (or rbd, nbd) reached over the network is on every host; a local file is not."""
    from dataclasses import replace

    from hypervisor.model import Disk
    from hypervisor.placement import FarmLoad, Guest
    from hypervisor.recovery import plan_recovery
    from tests.farm_ops.test_placement import small_host
    from tests.inventory.builders import make_vm

    lun = Disk("xvda", "iqn.2026-11.farm.example:store/1", "xen", kind="network", protocol="iscsi",
               hosts=("127.0.0.42:3260",), driver="qemu", format="raw")
    cdrom = Disk("xvdc", "", "xen", device="cdrom", kind="file")
    local = Disk("xvda", "/srv/local/a.img", "xen", kind="file", pool="scratch")
    vms = [replace(make_vm("on-lun", "h1"), disks=(lun, cdrom)),
           replace(make_vm("on-local", "h1"), disks=(local,))]
    load = FarmLoad.build([small_host("h1"), small_host("h2")], map(Guest.of, vms))
    plan = plan_recovery("h1", vms, load, shared_pools=set())
    assert [(m.vm.name, m.target) for m in plan.moves] == [("on-lun", "h2")]
    assert [(s.vm.name, s.reason) for s in plan.stuck] == [
        ("on-local", "its disk xvda (/srv/local/a.img) is in pool scratch, which is not shared: "
                     "only h1 reaches it")]
