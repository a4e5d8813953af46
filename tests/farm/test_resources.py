"""Changing a VM's vCPUs, memory, NICs and disks on the demo farm: checked first, live or at next boot."""

from __future__ import annotations

from xml.etree.ElementTree import tostring

import pytest

from bot.results import Outcome
from tests.farm.conftest import definition, farm_macs, volumes


def vm(chat, name):
    return chat.engine.inventory.vm(name).vm


def test_fewer_vcpus_apply_live_more_than_the_maximum_at_next_boot(chat):
    reply = chat.send("set web2 vcpus 1")
    assert reply.outcome is Outcome.OK, chat.transcript
    assert chat.transcript.endswith("web2: vCPUs 2 → 1, live now and in its definition.")
    reply = chat.send("set web2 vcpus 4")
    assert reply.outcome is Outcome.OK, chat.transcript
    assert "web2: vCPUs 1 → 4, in its definition, at next boot" in chat.transcript
    assert definition(chat, "web2").findtext("vcpu").strip() == "4"
    assert vm(chat, "web2").vcpus == 4


def test_memory_within_the_maximum_is_live(chat):
    reply = chat.send("set web2 memory 3G")
    assert reply.outcome is Outcome.OK, chat.transcript
    assert chat.transcript.endswith("web2: memory 4 GiB → 3 GiB, live now and in its definition.")
    reply = chat.send("set web2 memory 6G")
    assert "web2: memory 3 GiB → 6 GiB, in its definition, at next boot" in chat.transcript
    assert int(definition(chat, "web2").findtext("currentMemory")) == 6 * 1024**2
    assert vm(chat, "web2").memory_mib == 6 * 1024


def test_a_shut_off_vm_changes_when_it_next_starts(chat):
    reply = chat.send("set ci memory 4G")
    assert reply.outcome is Outcome.OK, chat.transcript
    assert chat.transcript.endswith("ci: memory 8 GiB → 4 GiB, in its definition, when it next starts.")


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("set web2 memory 16G", "Cannot give web2 16 GiB: its template web allows at most 8 GiB. "
                                "Ask for 8 GiB or less, or change the template."),
        ("set web2 vcpus 9", "Cannot give web2 9 vCPUs: its template web allows at most 4."),
        ("set web2 vcpus two", "'two' is not a vCPU count: give a whole number from 1, e.g. 4."),
        ("set web2 memory lots", "'lots' is not a size (try 512M, 4G or 2GiB)."),
        ("set web2 vcpus 2", "web2 has 2 vCPUs already; nothing to change."),
        ("set monitoring memory 900G", "Cannot give monitoring 900 GiB: its host {host} has "),
        ("set monitoring vcpus 500", "Cannot give monitoring 500 vCPUs: its host {host} has "),
        ("attach disk web2 20G pool nvme", "{host} has no storage pool 'nvme'; its pools: local."),
        ("detach nic web2 00:16:3e:ff:ff:ff", "web2 has no NIC with MAC 00:16:3e:ff:ff:ff. Its NICs: "),
    ],
)
def test_bad_values_are_refused_and_change_nothing(chat, command, message):
    name = command.split()[1] if command.startswith("set") else command.split()[2]
    before = definition(chat, name)
    host = vm(chat, name).host
    reply = chat.send(command)
    assert reply.outcome is Outcome.REFUSED, chat.transcript
    assert chat.transcript.startswith(message.format(host=host))
    assert definition(chat, name) is not None
    assert tostring(definition(chat, name)) == tostring(before)
    assert chat.engine.inventory.changes(name) == [c for c in chat.engine.inventory.changes(name)
                                                     if c.kind == "created"]


def test_unknown_vlan_is_named_with_the_known_ones(chat):
    reply = chat.send("attach nic web2 vlan 125")
    assert reply.outcome is Outcome.FAILED
    assert chat.transcript.startswith("No network with VLAN or name '125' in the fleet config. "
                                      "Did you mean 120?")
    assert "Known VLANs: 10 (mgmt), 100 (core), 120 (mail)" in chat.transcript
    assert len(vm(chat, "web2").nics) == 2


def test_attach_nic_at_next_boot_with_a_unique_mac(chat):
    reply = chat.send("attach nic web2 vlan 120")
    assert reply.outcome is Outcome.OK, chat.transcript
    assert "at next boot" in chat.transcript
    nics = vm(chat, "web2").nics
    assert [n.bridge for n in nics] == ["br130", "br10", "br120"]
    new = nics[-1].mac
    assert f"NIC {new} on br120 (VLAN 120, mail) added" in chat.transcript
    macs = farm_macs(chat)
    assert macs.count(new) == 1
    assert len(macs) == len(set(macs))
    chat.send("attach nic web2 vlan backup")
    assert [n.bridge for n in vm(chat, "web2").nics][-1] == "br160"


def test_detach_nic_removes_it_from_the_definition(chat):
    first, mac = (n.mac for n in vm(chat, "web2").nics)
    reply = chat.send(f"detach nic web2 {mac.upper()}")
    assert reply.outcome is Outcome.OK, chat.transcript
    assert f"web2: NIC {mac} on br10 removed, in its definition, at next boot" in chat.transcript
    assert [n.mac for n in vm(chat, "web2").nics] == [first]
    defined = [i.find("mac").get("address") for i in definition(chat, "web2").iterfind("devices/interface")]
    assert mac not in defined


def test_attach_disk_makes_a_volume_and_adds_it(chat):
    host = vm(chat, "web2").host
    reply = chat.send("attach disk web2 20G")
    assert reply.outcome is Outcome.OK, chat.transcript
    assert "web2: 20 GiB disk xvdb (new volume web2-xvdb.img in pool local) added, in its definition, " \
           "at next boot" in chat.transcript
    assert volumes(chat, host)["/var/lib/xen/images/web2-xvdb.img"] == 20 * 1024**3
    disk = vm(chat, "web2").disks[-1]
    assert (disk.target, disk.pool, disk.size_bytes) == ("xvdb", "local", 20 * 1024**3)


def test_a_vlan_the_host_has_no_bridge_for_is_refused(extra_templates, chat):
    host = vm(chat, "web2").host
    reply = chat.send("attach nic web2 vlan 300")
    assert reply.outcome is Outcome.REFUSED
    assert chat.transcript.startswith(f"{host} has no bridge br300 for VLAN 300 (lab); its bridges: ")
    assert chat.transcript.endswith("Migrate web2 or add the bridge first.")
    assert len(vm(chat, "web2").nics) == 2
