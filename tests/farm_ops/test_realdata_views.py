"""Real Xen definitions as `show`, the site and the exports present them, and what the inventory keeps.

Samples from ../shared/realdata/domxml are put on a demo host (adjusted for libvirt's test
driver as in test_recover_samples: domain type, name, UUID, `<input bus='xen'>`; the OVS
trunk sample is plugged into the demo's br120, which the fleet config and the host's facts
put on VLAN 120, so that what the host says can be told from what the trunk's tags say).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bot.results import Outcome
from granja.app import open_engine
from sitegen.render import render_pages, static_files, vm_page
from sitegen.snapshot import gather
from tests.conftest import Chat
from tests.farm_ops.test_recover_samples import _adjusted
from tests.hypervisor.test_domxml_samples import SAMPLES

HOST = "host05"
NAMES = ("libvirt-xl-test-fullvirt-ovswitch-trunked", "libvirt-xl-test-pvh-type",
         "virtmanager-xmlparse-change-nics-in", "libvirt-xl-test-rbd-multihost-noauth",
         "libvirt-xl-test-paravirt-maxvcpus", "libvirt-xl-test-fullvirt-direct-kernel-boot",
         "libvirt-xl-test-paravirt-cmdline")
TRUNK, PVH, NICS, RBD, MAXVCPUS, PASSWD, CMDLINE = NAMES


@pytest.fixture
def farm(state) -> Chat:
    node = state / "demo" / f"{HOST}.xml"
    tree = ET.parse(node)
    for name in NAMES:
        root = _adjusted(SAMPLES / f"{name}.xml")
        if name == TRUNK:
            root.find("devices/interface/source").set("bridge", "br120")
        tree.getroot().append(root)
    tree.write(node, encoding="unicode")
    chat = Chat(open_engine(config=None, state=str(state)))
    assert chat.send("refresh").outcome is Outcome.OK, chat.transcript
    return chat


def test_show_tells_pvh_trunks_nic_types_network_disks_and_max_vcpus(farm):
    farm.send(f"show {TRUNK}")
    # The host's own wiring (br120 is VLAN 120) stands; the trunk's tags are shown beside it.
    assert "00:16:3e:66:92:9c  br120  VLAN 120 (mail)  trunk 42,43  via bond0" in farm.transcript
    assert "VLAN 42" not in farm.transcript
    farm.send(f"show {PVH}")
    assert "virt       PVH (xenpvh), kernel /tmp/vmlinuz" in farm.transcript
    farm.send(f"show {NICS}")
    for line in ("22:11:11:11:11:11  user", "22:22:33:44:55:66  network default",
                 "22:22:22:22:22:22  foobr0", "00:11:22:33:44:55  direct eth0.1 (vepa)"):
        assert f"    {line}" in farm.transcript.splitlines(), farm.transcript
    farm.send(f"show {RBD}")
    assert ("hdb    rbd pool/image on mon1.example.org:6321, mon2.example.org:6322, "
            "mon3.example.org:6322  ide") in farm.transcript
    farm.send(f"show {MAXVCPUS}")
    assert "vCPUs      4 (max 8)" in farm.transcript


def test_the_site_tells_the_mode_and_keeps_the_hosts_vlan_for_a_trunk(farm):
    view = gather(farm.engine.inventory)
    pages = render_pages(view, title="t")
    assert "| Virtualization | PVH |" in pages[vm_page(PVH)]
    assert "| Virtualization | PV |\n| Kernel | /tmp/vmlinuz |" in pages[vm_page(CMDLINE)]
    page = pages[vm_page(CMDLINE)]
    assert "| Initrd | /tmp/initrd |\n| Command line | root=/dev/xvda1 console=hvc0 |" in page
    assert "| vCPUs | 4 (max 8) |" in pages[vm_page(MAXVCPUS)]
    assert "| 00:16:3e:66:92:9c | br120 | 120 (trunk 42,43) | bond0 | e1000 |" in pages[vm_page(TRUNK)]
    assert "| 22:22:33:44:55:66 | network default |" in pages[vm_page(NICS)]
    networks = pages["networks.md"]
    assert "VLAN 42" not in networks
    assert "VLAN 43" not in networks


def test_the_inventory_keeps_each_definition_without_passwords_and_publishes_none(farm, state):
    record = farm.engine.inventory.vm(PASSWD)
    sample = ET.fromstring((SAMPLES / f"{PASSWD}.xml").read_text())
    kept = ET.fromstring(record.vm.definition)
    for part in ("os/kernel", "os/initrd", "os/cmdline"):
        assert kept.findtext(part) == sample.findtext(part), part
    assert sample.find("devices/graphics").get("passwd") == "123poi"
    assert kept.find("devices/graphics") is not None
    assert kept.find("devices/graphics").get("passwd") is None
    stored = Path(state / "inventory.json").read_text()
    assert "123poi" not in stored
    assert "passwd" not in stored
    assert json.loads(stored)  # the definitions are kept in the state's inventory
    assert "vif-openvswitch" in stored
    files = static_files(gather(farm.engine.inventory))
    for name, text in files.items():
        if isinstance(text, str):
            assert "<domain" not in text, name
            assert "definition" not in text, name
