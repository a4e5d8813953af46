from __future__ import annotations

import json
from dataclasses import replace

import pytest

from hypervisor.host_model import Bond, Bridge, HostFacts, VlanIf
from hypervisor.model import NIC, Disk, to_dict
from inventory.drift import diff_configs
from inventory.natural import natural_key
from inventory.records import FieldDiff
from tests.inventory.builders import in_cluster, make_host, make_vm

VM = make_vm("web1")
NIC0, NIC1, NIC2 = VM.nics


def diff(**changes):
    return diff_configs(VM.config(), replace(VM, **changes).config())


def test_identical_configs_have_no_diff():
    assert diff() == []
    assert diff(host="host9", state=VM.state.SHUTOFF) == []  # placement and state are not config


def test_scalar_and_nested_fields():
    assert diff(memory_mib=2048) == [FieldDiff("memory_mib", 1024, 2048)]
    new = in_cluster(VM, "web")
    assert diff_configs(VM.config(), new.config()) == [FieldDiff("meta.cluster", "", "web")]


def test_nic_field_change_is_keyed_by_mac():
    nics = (replace(NIC0, bridge="br120"), NIC1, NIC2)
    assert diff(nics=nics) == [FieldDiff(f"nics[{NIC0.mac}].bridge", "br100", "br120")]


def test_added_and_removed_items_are_whole_values():
    extra = NIC("00:16:3e:00:00:99", "br300", "netfront")
    assert diff(nics=(*VM.nics, extra)) == [FieldDiff("nics[00:16:3e:00:00:99]", None, to_dict(extra))]
    assert diff(disks=VM.disks[:1]) == [FieldDiff("disks[xvdb]", VM.config()["disks"][1], None)]


def test_disk_change_is_keyed_by_target():
    moved = replace(VM.disks[0], source="/srv/new/web1.img")
    assert diff(disks=(moved, VM.disks[1])) == [
        FieldDiff("disks[xvda].source", VM.disks[0].source, "/srv/new/web1.img")
    ]


def test_what_storage_says_of_a_disk_is_not_drift():
    # An offline move to a host whose pool does not list the file changes neither the domain's disks
    # nor the guest: pool and size are the host's view of the file.
    elsewhere = replace(VM.disks[0], pool="", size_bytes=0)
    assert diff(disks=(elsewhere, VM.disks[1])) == []


def test_reordered_nics_report_the_order():
    assert diff(nics=(NIC1, NIC0, NIC2)) == [
        FieldDiff("nics.order", [NIC0.mac, NIC1.mac, NIC2.mac], [NIC1.mac, NIC0.mac, NIC2.mac])
    ]


def test_inserted_nic_is_not_a_reorder():
    extra = NIC("00:16:3e:00:00:99", "br300")
    assert [d.path for d in diff(nics=(NIC0, extra, NIC1, NIC2))] == ["nics[00:16:3e:00:00:99]"]


def test_items_without_unique_keys_compare_as_whole_lists():
    twins = (Disk("xvda", "/a"), Disk("xvda", "/b"))
    result = diff(disks=twins)
    assert [d.path for d in result] == ["disks"]


@pytest.mark.parametrize(
    "value",
    [
        make_vm("a"),
        make_host("h1"),
        replace(
            make_host("h2"),
            facts=HostFacts(
                bonds=(Bond("bond0", "802.3ad", ("eth0", "eth1"), ("eth0",)),),
                vlans=(VlanIf("bond0.100", 100, "bond0"),),
                bridges=(Bridge("br100", ("bond0.100",)),),
            ),
        ),
    ],
)
def test_to_dict_gives_plain_json_data(value):
    data = to_dict(value)
    assert json.loads(json.dumps(data)) == data


def test_natural_order():
    names = ["ldap10", "ldap2", "Ldap3", "imap1", "ldap", "ldap2a", "10", "9"]
    assert sorted(names, key=natural_key) == [
        "9",
        "10",
        "imap1",
        "ldap",
        "ldap2",
        "ldap2a",
        "Ldap3",
        "ldap10",
    ]
