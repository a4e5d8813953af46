from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from hypervisor.host_model import DomainStart, Host, HostFacts
from hypervisor.model import NIC, VMState
from inventory.errors import NoBaseline, UnknownVM
from inventory.records import Change, FieldDiff
from inventory.store import Inventory
from tests.inventory.builders import T0, at, in_cluster, make_host, make_vm

HOSTS = [make_host("host1"), make_host("host2"), make_host("host10")]


def refresh(inv: Inventory, vms, *, minutes: float = 0, hosts=HOSTS, unreachable=None, **kw):
    return inv.record_refresh(
        hosts=hosts, vms=vms, unreachable=unreachable or {}, at=at(minutes), duration_s=1.5, **kw
    )


def test_refresh_stores_and_indexes(inv):
    vms = [
        in_cluster(make_vm("ldap10", "host1"), "ldap"),
        in_cluster(make_vm("ldap2", "host2"), "ldap"),
        make_vm("imap1", "host1"),
    ]
    summary = refresh(inv, vms)

    assert (summary.vms, summary.new, summary.hosts_ok, summary.changed) == (3, 3, 3, 0)
    assert inv.vm_names() == ["imap1", "ldap2", "ldap10"]
    assert [r.name for r in inv.vms()] == ["imap1", "ldap2", "ldap10"]
    assert [r.name for r in inv.vms_on("host1")] == ["imap1", "ldap10"]
    assert [r.name for r in inv.vms_in("ldap")] == ["ldap2", "ldap10"]
    assert inv.vms_on("nohost") == []
    assert inv.vms_in("nocluster") == []
    assert inv.host_names() == ["host1", "host2", "host10"]
    record = inv.vm("ldap2")
    assert record is not None
    assert record.vm == vms[1]
    assert record.last_seen == T0
    assert record.last_seen.tzinfo is not None
    assert record.stale_since is None
    assert record.strays == ()
    assert inv.vm("nope") is None
    host = inv.host("host10")
    assert host is not None
    assert host.host == HOSTS[2]
    assert host.last_seen == T0
    assert host.reachable
    info = inv.last_refresh()
    assert info is not None
    assert (info.at, info.duration_s, info.hosts_ok, info.vms) == (T0, 1.5, ("host1", "host2", "host10"), 3)


def test_times_given_in_another_zone_are_stored_as_utc(inv):
    paris = timezone(timedelta(hours=1))
    inv.record_refresh(hosts=HOSTS, vms=[make_vm("a")], unreachable={}, at=T0.astimezone(paris), duration_s=0)
    record = inv.vm("a")
    assert record.last_seen == T0
    assert record.last_seen.utcoffset() == timedelta(0)


def test_naive_datetime_is_refused(inv):
    with pytest.raises(ValueError, match="naive"):
        inv.record_refresh(hosts=HOSTS, vms=[], unreachable={}, at=datetime(2025, 1, 1), duration_s=0)


def test_vm_on_a_host_missing_from_the_refresh_is_refused(inv):
    with pytest.raises(ValueError, match="host7"):
        refresh(inv, [make_vm("a", "host7")])
    assert inv.vm_names() == []


def test_changed_memory_logs_a_change_with_command_and_user(inv):
    refresh(inv, [make_vm("ldap3"), make_vm("imap1")])
    summary = refresh(
        inv, [make_vm("ldap3", memory_mib=2048), make_vm("imap1")], minutes=5, command="refresh", user="ana"
    )

    assert (summary.changed, summary.new) == (1, 0)
    latest = inv.changes("ldap3")[0]
    assert latest == Change("ldap3", at(5), "config", "memory_mib", 1024, 2048, "refresh", "ana")
    assert inv.vm("ldap3").vm.memory_mib == 2048
    assert [c.kind for c in inv.changes("imap1")] == ["created"]


def test_first_sight_is_logged_as_created(inv):
    refresh(inv, [make_vm("a", "host2")], user="bob")
    assert inv.changes("a") == [Change("a", T0, "created", "host", None, "host2", "refresh", "bob")]


def test_changed_nic_bridge_and_added_nic_read_by_mac(inv):
    vm = make_vm("web1")
    refresh(inv, [vm])
    first, *rest = vm.nics
    extra = NIC("00:16:3e:aa:bb:cc", "br300", "netfront")
    refresh(inv, [replace(vm, nics=(replace(first, bridge="br120"), *rest, extra))], minutes=1)

    paths = {(c.path, c.old, str(c.new)) for c in inv.changes("web1") if c.kind == "config"}
    assert (f"nics[{first.mac}].bridge", "br100", "br120") in paths
    added = [c for c in inv.changes("web1") if c.path == "nics[00:16:3e:aa:bb:cc]"]
    assert added[0].old is None
    assert added[0].new["bridge"] == "br300"


def test_migrated_vm_logs_a_placement_change(inv):
    refresh(inv, [make_vm("imap2", "host1")])
    summary = refresh(
        inv, [make_vm("imap2", "host2")], minutes=2, command="migrate imap2 to host2", user="eve"
    )

    assert summary.changed == 1
    assert inv.changes("imap2")[0] == Change(
        "imap2", at(2), "placement", "host", "host1", "host2", "migrate imap2 to host2", "eve"
    )
    assert [r.name for r in inv.vms_on("host2")] == ["imap2"]
    assert inv.vms_on("host1") == []
    assert inv.drift("imap2") == []  # placement is not configuration


def test_changes_of_one_event_keep_their_logged_order(inv):
    refresh(inv, [make_vm("imap2", "host1")])
    inv.record_vm(make_vm("imap2", "host2", autostart=False, vcpus=4), at=at(1), command="m", user="u")
    assert [(c.kind, c.path) for c in inv.changes("imap2")] == [
        ("placement", "host"),
        ("config", "vcpus"),
        ("config", "autostart"),
        ("created", "host"),
    ]


def test_unreachable_host_keeps_its_vms_marked_stale(inv):
    refresh(inv, [make_vm("a", "host1"), make_vm("b", "host2")])
    reachable = [h for h in HOSTS if h.name != "host2"]
    s1 = refresh(inv, [make_vm("a", "host1")], minutes=5, hosts=reachable, unreachable={"host2": "timed out"})
    s2 = refresh(
        inv, [make_vm("a", "host1")], minutes=10, hosts=reachable, unreachable={"host2": "connection refused"}
    )

    assert (s1.stale, s1.removed, s2.stale) == (1, 0, 1)
    b = inv.vm("b")
    assert b is not None
    assert b.stale_since == at(5)
    assert b.last_seen == T0
    assert inv.vm("a").stale_since is None
    host = inv.host("host2")
    assert host.unreachable_since == at(5)
    assert host.reason == "connection refused"
    assert host.host == HOSTS[1]
    assert host.last_seen == T0
    assert inv.last_refresh().hosts_unreachable == {"host2": "connection refused"}

    refresh(inv, [make_vm("a", "host1"), make_vm("b", "host2")], minutes=15)
    assert inv.vm("b").stale_since is None
    assert inv.host("host2").reachable


def test_never_reached_host_gets_a_placeholder_record(inv):
    refresh(inv, [], hosts=[], unreachable={"host9": "no route"})
    host = inv.host("host9")
    assert host.last_seen is None
    assert host.host.name == "host9"
    assert host.host.cpus == 0
    assert host.unreachable_since == T0
    assert host.reason == "no route"


def test_removed_vm_is_logged_and_dropped_but_its_history_kept(inv):
    refresh(inv, [make_vm("a"), make_vm("b")])
    summary = refresh(inv, [make_vm("a")], minutes=3, user="ana")

    assert summary.removed == 1
    assert inv.vm("b") is None
    assert inv.vm_names() == ["a"]
    assert inv.changes("b")[0] == Change("b", at(3), "removed", "host", "host1", None, "refresh", "ana")
    assert inv.baseline("b") is not None


def test_partial_refresh_leaves_other_hosts_alone(inv):
    refresh(inv, [make_vm("a", "host1"), make_vm("b", "host2")])
    summary = refresh(inv, [make_vm("a", "host1")], minutes=1, hosts=[HOSTS[0]])

    assert summary.removed == 0
    assert inv.vm("b").last_seen == T0
    assert inv.vm("b").stale_since is None


def test_baseline_is_kept_and_drift_computed(inv):
    vm = make_vm("db1")
    refresh(inv, [vm])
    baseline = inv.baseline("db1")
    assert baseline.config == vm.config()
    assert baseline.taken_at == T0
    assert len(baseline.id) == 12

    refresh(inv, [replace(vm, vcpus=4, memory_mib=4096)], minutes=1)
    refresh(inv, [replace(vm, vcpus=4, memory_mib=8192)], minutes=2)

    assert inv.baseline("db1").id == baseline.id
    assert inv.drift("db1") == [FieldDiff("vcpus", 2, 4), FieldDiff("memory_mib", 1024, 8192)]

    accepted = inv.set_baseline("db1", at=at(3), user="ana")
    assert accepted.id != baseline.id
    assert accepted.taken_by == "ana"
    assert inv.baseline("db1") == accepted
    assert inv.drift("db1") == []


def test_baseline_config_handed_out_is_a_copy(inv):
    refresh(inv, [make_vm("a")])
    inv.baseline("a").config["memory_mib"] = 1
    assert inv.baseline("a").config["memory_mib"] == 1024


def test_drift_values_handed_out_are_copies(inv):
    trunk = make_vm("a")
    trunk = replace(trunk, nics=(replace(trunk.nics[0], vlans=(10, 20), trunk=True),))
    refresh(inv, [trunk])
    refresh(inv, [replace(trunk, nics=(replace(trunk.nics[0], vlans=(10,)),))], minutes=1)
    (vlans,) = inv.drift("a")
    assert (vlans.old, vlans.new) == ([10, 20], [10])
    vlans.old.append(30)
    assert inv.baseline("a").config["nics"][0]["vlans"] == [10, 20]
    assert inv.drift("a")[0].old == [10, 20]


def test_drift_and_set_baseline_of_unknown_vm_raise(inv):
    with pytest.raises(UnknownVM):
        inv.drift("ghost")
    with pytest.raises(UnknownVM):
        inv.set_baseline("ghost", at=T0, user="ana")


def test_drift_without_baseline_raises_no_baseline(inv, tmp_path):
    refresh(inv, [make_vm("a")])
    path = tmp_path / "state" / "inventory.json"
    data = json.loads(path.read_text())
    data["baselines"] = {}  # as if lost by hand-editing
    path.write_text(json.dumps(data))
    with pytest.raises(NoBaseline):
        inv.drift("a")


def test_recreated_vm_gets_a_new_baseline_only_if_it_is_another_vm(inv):
    refresh(inv, [make_vm("a"), make_vm("b")])
    old_a, old_b = inv.baseline("a"), inv.baseline("b")
    refresh(inv, [], minutes=1)
    refresh(inv, [make_vm("a"), make_vm("b", uuid="11111111-2222-3333-4444-555555555555")], minutes=2)

    assert inv.baseline("a") == old_a
    assert inv.baseline("b").id != old_b.id
    assert inv.baseline("b").taken_at == at(2)
    assert [c.kind for c in inv.changes("b")] == ["created", "removed", "created"]


def test_stray_definitions_are_recorded(inv):
    active = make_vm("dns1", "host2")
    stray = make_vm("dns1", "host1", state=VMState.SHUTOFF)
    refresh(inv, [stray, active])
    record = inv.vm("dns1")
    assert record.vm.host == "host2"
    assert record.strays == ("host1",)

    refresh(inv, [make_vm("dns1", "host2")], minutes=1, strays={"dns1": ("host10",)})
    assert inv.vm("dns1").strays == ("host10",)


def test_record_vm_logs_changes_and_clears_stale(inv):
    refresh(inv, [make_vm("a", "host1")])
    inv.record_host_unreachable("host1", reason="timed out", at=at(1))
    assert inv.vm("a").stale_since == at(1)
    assert inv.host("host1").reason == "timed out"

    changes = inv.record_vm(make_vm("a", "host1", vcpus=8), at=at(2), command="set a vcpus 8", user="ana")

    assert changes == [Change("a", at(2), "config", "vcpus", 2, 8, "set a vcpus 8", "ana")]
    assert inv.changes("a")[0] == changes[0]
    record = inv.vm("a")
    assert record.vm.vcpus == 8
    assert record.stale_since is None
    assert record.last_seen == at(2)


def test_record_vm_of_a_new_vm_takes_a_baseline(inv):
    changes = inv.record_vm(make_vm("new1", "host2"), at=T0, command="create new1", user="ana")
    assert [c.kind for c in changes] == ["created"]
    assert inv.baseline("new1").config == make_vm("new1").config()
    assert inv.vm_names() == ["new1"]


def test_forget_vm(inv):
    refresh(inv, [make_vm("a"), make_vm("b")])
    change = inv.forget_vm("a", at=at(1), command="undefine a", user="ana")
    assert change == Change("a", at(1), "removed", "host", "host1", None, "undefine a", "ana")
    assert inv.vm("a") is None
    assert inv.vm_names() == ["b"]
    assert inv.vms_on("host1")[0].name == "b"
    assert inv.forget_vm("a", at=at(2), command="undefine a", user="ana") is None


def test_changes_are_newest_first_limited_and_filtered(inv):
    refresh(inv, [make_vm("a"), make_vm("b")])
    for minute in range(1, 6):
        inv.record_vm(make_vm("a", memory_mib=1024 + minute), at=at(minute), command="c", user="u")
    inv.record_vm(make_vm("b", vcpus=3), at=at(6), command="c", user="u")

    assert [c.at for c in inv.changes(limit=3)] == [at(6), at(5), at(4)]
    assert [c.new for c in inv.changes("a", limit=2)] == [1029, 1028]
    assert len(inv.changes("a")) == 6
    assert inv.changes("zzz") == []
    assert inv.changes(limit=0) == []


def test_data_survives_reopening(inv, tmp_path):
    refresh(inv, [make_vm("a"), make_vm("b", "host2")])
    reopened = Inventory(tmp_path / "state")
    assert reopened.vms() == inv.vms()
    assert reopened.hosts() == inv.hosts()
    assert reopened.changes() == inv.changes()
    assert reopened.last_refresh() == inv.last_refresh()
    assert reopened.vm("a").last_seen.tzinfo == UTC
    reopened.close()


def test_start_times_read_a_second_apart_are_kept_so_nothing_seems_to_change(inv):
    """`/proc/uptime` and `xl uptime` are read against the host's clock in whole seconds, so each
    refresh computes a boot or start time 1 s either side: the stored time must stay put (a jump
    would rewrite the host's record and its site pages every refresh), yet a real restart shows."""
    booted, started = 1_700_000_000, 1_700_050_000

    def host(boot: int, start: int, domain_id: int = 7) -> Host:
        facts = HostFacts(booted_at=boot, domains=(DomainStart("Domain-0", 0, boot + 5),
                                                     DomainStart("web1", domain_id, start)))
        return replace(make_host("host1"), facts=facts)

    def stored() -> HostFacts | None:
        record = inv.host("host1")
        assert record is not None
        return record.host.facts

    refresh(inv, [], hosts=[host(booted, started)])
    refresh(inv, [], hosts=[host(booted + 1, started - 1)], minutes=1)
    assert stored() == host(booted, started).facts
    refresh(inv, [], hosts=[host(booted - 2, started + 2)], minutes=2)
    assert stored() == host(booted, started).facts
    refresh(inv, [], hosts=[host(booted + 1, started + 600, domain_id=8)], minutes=12)  # web1 restarted
    assert stored() == host(booted, started + 600, domain_id=8).facts
    refresh(inv, [], hosts=[host(booted + 900, started + 600, domain_id=8)], minutes=15)  # the host rebooted
    facts = stored()
    assert facts is not None
    assert facts.booted_at == booted + 900
