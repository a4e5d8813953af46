"""Placement rules on small hand-built farms: room, cluster spread, maintenance, storage, load."""

from __future__ import annotations

from dataclasses import replace

from hypervisor.evacuation import plan_evacuation
from hypervisor.host_model import Pool
from hypervisor.placement import FarmLoad, Guest, Limits, choose_host, rank_hosts
from hypervisor.recovery import plan_recovery
from tests.inventory.builders import in_cluster, make_host, make_vm


def small_host(name: str, memory_gib: int = 16, cpus: int = 4):
    return replace(make_host(name), memory_mib=memory_gib * 1024, cpus=cpus)


def test_least_loaded_host_without_a_cluster_member_wins_and_the_choice_is_explained():
    hosts = [small_host("a"), small_host("b"), small_host("c")]
    vms = [in_cluster(make_vm("ldap1", "a"), "ldap"), in_cluster(make_vm("ldap2", "b"), "ldap"),
           make_vm("big", "c", memory_mib=8192), make_vm("x", "a")]
    load = FarmLoad.build(hosts, map(Guest.of, vms))
    choice = choose_host(Guest.of(vms[0]), load)
    assert choice.host == "c"
    assert "no other member of cluster ldap" in choice.reasons[0]
    assert any("ruled out 1 host already running a member of ldap: b" in r for r in choice.reasons)
    plain = Guest.of(make_vm("y", "c"))
    assert rank_hosts(plain, load) == ["b", "a"]  # c is its own host; b carries less than a


def test_no_host_fits_says_why_for_each_rule():
    hosts = [small_host("a"), small_host("b", memory_gib=1), small_host("c"), small_host("d", cpus=1)]
    vms = [in_cluster(make_vm("ldap1", "a"), "ldap"), in_cluster(make_vm("ldap2", "c"), "ldap"),
           make_vm("busy", "d", vcpus=4)]
    load = FarmLoad.build(hosts, map(Guest.of, vms), maintenance={"a"}, limits=Limits(cpu_ratio=1.0))
    choice = choose_host(Guest(name="ldap3", vcpus=2, memory_mib=2048, cluster="ldap"), load)
    assert choice.host is None
    text = " | ".join(choice.reasons)
    assert "in maintenance: a" in text
    assert "short of memory: b" in text
    assert "already running a member of ldap: c" in text
    assert "short of vCPUs: d" in text


def test_unreachable_hosts_and_hosts_without_the_pool_are_not_chosen():
    hosts = [small_host("a"), replace(small_host("b"), pools=(Pool("san", 1, 0, 1),)), small_host("c")]
    load = FarmLoad.build(hosts, [], unreachable={"c"})
    guest = Guest(name="v", vcpus=1, memory_mib=1024, pools=frozenset({"san"}))
    assert choose_host(guest, load).host == "b"
    assert load.problems(guest, "a") == [("storage", "a has no pool san for v's disks")]


def test_an_evacuation_plan_counts_its_own_earlier_moves():
    # Two 6 GiB VMs leave h1; h2 and h3 have 8 GiB each: one VM each, never both on one host.
    hosts = [small_host("h1"), small_host("h2", memory_gib=8), small_host("h3", memory_gib=8)]
    vms = [make_vm("p", "h1", memory_mib=6144), make_vm("q", "h1", memory_mib=6144),
           make_vm("r", "h1", memory_mib=6144)]
    plan = plan_evacuation("h1", vms, FarmLoad.build(hosts, map(Guest.of, vms)))
    assert sorted(m.target for m in plan.moves) == ["h2", "h3"]
    assert [s.vm.name for s in plan.stuck] == ["r"]
    assert "short of memory: h2 and h3" in plan.stuck[0].reason


def test_pinned_vms_stay_with_the_reason():
    hosts = [small_host("h1"), small_host("h2")]
    vms = [make_vm("tape", "h1"), make_vm("web", "h1")]
    plan = plan_evacuation("h1", vms, FarmLoad.build(hosts, map(Guest.of, vms)), pinned={"tape"})
    assert [(m.vm.name, m.target) for m in plan.moves] == [("web", "h2")]
    assert [(s.vm.name, s.reason) for s in plan.stuck] == [("tape", "pinned to h1 in the fleet config")]


def test_recovery_starts_only_vms_whose_disks_are_on_shared_pools():
    hosts = [small_host("h1"), small_host("h2")]
    vms = [make_vm("shared", "h1"), make_vm("local", "h1")]
    local = replace(vms[1], disks=tuple(replace(d, pool="lvm") for d in vms[1].disks))
    load = FarmLoad.build(hosts, map(Guest.of, vms))
    plan = plan_recovery("h1", [vms[0], local], load, shared_pools={"vg0"})
    assert [(m.vm.name, m.target) for m in plan.moves] == [("shared", "h2")]
    assert plan.stuck[0].vm.name == "local"
    assert "is in pool lvm, which is not shared: only h1 reaches it" in plan.stuck[0].reason
