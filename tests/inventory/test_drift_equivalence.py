"""Drift compares what matters: two definitions libvirt treats as the same are no difference.

Each pair is one real sample from ../shared/realdata/domxml and the same definition written
another way libvirt reads identically (old xend's OS type `linux` for `xen`, a bus left out
where the device name implies it), read through granja's own parser and compared as drift is.
"""

from __future__ import annotations

import json
from dataclasses import replace

from hypervisor.domain_xml import parse_domain
from hypervisor.model import VMState
from inventory.drift import diff_configs
from inventory.store import Inventory
from tests.hypervisor.test_domxml_samples import SAMPLES
from tests.inventory.builders import T0, at, make_host, make_vm


def _read(xml: str):
    return parse_domain(xml, host="h", state=VMState.RUNNING)


def test_pv_os_type_linux_and_xen_are_the_same():
    xml = (SAMPLES / "libvirt-xl-test-paravirt-cmdline.xml").read_text()
    assert ">linux</type>" in xml
    xen = xml.replace(">linux</type>", ">xen</type>")
    assert diff_configs(_read(xml).config(), _read(xen).config()) == []


def test_a_bus_left_out_is_the_one_the_device_name_implies():
    xml = (SAMPLES / "libvirt-libxl-moredevs-hvm.xml").read_text()
    assert "<target dev='hda'/>" in xml
    explicit = xml.replace("<target dev='hda'/>", "<target dev='hda' bus='ide'/>")
    assert diff_configs(_read(xml).config(), _read(explicit).config()) == []
    other = xml.replace("<target dev='hda'/>", "<target dev='hda' bus='usb'/>")
    assert [d.path for d in diff_configs(_read(xml).config(), _read(other).config())] == ["disks[hda].bus"]


def test_what_matters_still_shows():
    xml = (SAMPLES / "libvirt-xl-test-disk-qed.xml").read_text()
    qcow2 = xml.replace("type='qed'", "type='qcow2'")
    assert [(d.path, d.old, d.new) for d in diff_configs(_read(xml).config(), _read(qcow2).config())] == [
        ("disks[hda].format", "qed", "qcow2")]
    trunk = (SAMPLES / "libvirt-xl-test-fullvirt-ovswitch-trunked.xml").read_text()
    tagged = (SAMPLES / "libvirt-xl-test-fullvirt-ovswitch-tagged.xml").read_text()
    paths = {d.path for d in diff_configs(_read(tagged).config(), _read(trunk).config())}
    assert {"nics[00:16:3e:66:92:9c].vlan", "nics[00:16:3e:66:92:9c].trunk"} <= paths


def test_a_baseline_taken_before_granja_read_more_fields_shows_no_drift(tmp_path):
    inv = Inventory(tmp_path)
    vm = make_vm("web1")
    inv.record_refresh(hosts=[make_host("host1")], vms=[vm], unreachable={}, at=T0, duration_s=0)
    # Rewrite the stored baseline and record as an earlier granja wrote them: without the new fields.
    path = tmp_path / "inventory.json"
    data = json.loads(path.read_text())
    new_vm_fields = ("initrd", "cmdline", "bootloader_args", "max_vcpus")
    for doc in data["baselines"].values():
        old = vm.config()
        for field in new_vm_fields:
            old.pop(field)
        for disk in old["disks"]:
            for field in ("kind", "format", "driver", "protocol", "hosts"):
                disk.pop(field)
        for nic in old["nics"]:
            for field in ("type", "source", "source_mode", "vlans", "trunk", "native_vlan", "native_mode",
                          "script"):
                nic.pop(field)
        doc["config"] = old
        doc.pop("compact")
    for doc in data["vms"].values():
        for field in (*new_vm_fields, "definition"):
            doc["vm"].pop(field)
        for disk in doc["vm"]["disks"]:
            disk.pop("kind")
    path.write_text(json.dumps(data))
    again = Inventory(tmp_path)
    again.record_refresh(hosts=[make_host("host1")], vms=[replace(vm, definition="<domain/>")],
                         unreachable={}, at=at(1), duration_s=0)
    assert again.drift("web1") == []
    assert [c.kind for c in again.changes(vm="web1")] == ["created"]


def test_every_sample_round_trips_through_the_compact_store(tmp_path):
    """The inventory leaves devices' default fields out of what it stores; reading gives them back."""
    inv = Inventory(tmp_path)
    vms = [replace(_read((path).read_text()), name=path.stem, host="host1")
           for path in sorted(SAMPLES.glob("*.xml"))]
    inv.record_refresh(hosts=[make_host("host1")], vms=vms, unreachable={}, at=T0, duration_s=0)
    again = Inventory(tmp_path)
    for vm in vms:
        stored = again.vm(vm.name).vm
        assert stored == vm
        assert stored.definition == vm.definition
        assert again.baseline(vm.name).config == vm.config()
        assert again.drift(vm.name) == []
