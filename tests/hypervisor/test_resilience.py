"""The host failure simulation against the recovery planner it must agree with, on farms made for it."""

from __future__ import annotations

import random
from collections.abc import Collection
from dataclasses import replace

import pytest

from hypervisor.host_model import Host, Pool
from hypervisor.model import GranjaMeta
from hypervisor.placement import FarmLoad, Guest, Limits
from hypervisor.recovery import plan_recovery
from hypervisor.resilience import (
    Proposal,
    Simulator,
    assess,
    assess_again,
    newly_stranding,
    pairs_lost,
    single_losses,
)
from tests.inventory.builders import make_vm

SHARED = ("nfs",)


def host(name: str, memory_gib: int = 64, cpus: int = 16) -> Host:
    return Host(name=name, uri=f"test:///{name}", driver="TEST", cpus=cpus, memory_mib=memory_gib * 1024,
                pools=(Pool(name="nfs", capacity_bytes=2**40, allocation_bytes=0, available_bytes=2**40),))


def guest(name: str, on: str, memory_gib: int, cluster: str = "", vcpus: int = 2) -> Guest:
    return Guest(name=name, vcpus=vcpus, memory_mib=memory_gib * 1024, cluster=cluster, host=on,
                 pools=frozenset(SHARED))


def random_farm(seed: int, hosts: int, vms: int) -> tuple[list[Host], list[Guest]]:
    rng = random.Random(seed)
    farm = [host(f"h{n:03d}", memory_gib=rng.choice((32, 64, 96, 128)), cpus=rng.choice((8, 16, 32)))
            for n in range(hosts)]
    guests = []
    for n in range(vms):
        cluster = rng.choice(("", "", "ldap", "imap", "web", "db"))
        guests.append(Guest(name=f"vm{n:04d}", vcpus=rng.choice((1, 2, 4)),
                            memory_mib=rng.choice((1, 2, 4, 8, 16)) * 1024, cluster=cluster,
                            active=rng.random() < 0.85, host=rng.choice(farm).name,
                            pools=frozenset(SHARED)))
    return farm, guests


@pytest.mark.parametrize("seed", range(6))
def test_every_single_loss_agrees_with_the_recovery_planner_on_cluster_farms(seed):
    farm, guests = random_farm(seed, hosts=25, vms=220)
    limits = Limits(cpu_ratio=2.0)
    sim = Simulator(FarmLoad.build(farm, guests, limits=limits), guests)
    for h in farm:
        running = [replace(make_vm(g.name, g.host, vcpus=g.vcpus, memory_mib=g.memory_mib, disks=()),
                           meta=GranjaMeta(cluster=g.cluster))
                   for g in guests if g.host == h.name and g.active]
        load = FarmLoad.build(farm, guests, limits=limits, unreachable={h.name})
        expected = plan_recovery(h.name, running, load, shared_pools=SHARED)
        loss = sim.lose((h.name,))
        assert dict(loss.restarts) == {m.vm.name: m.target for m in expected.moves}, h.name
        assert {s.vm for s in loss.stranded} == {s.vm.name for s in expected.stuck}, h.name


def test_a_farm_that_survives_one_failure_but_not_a_pair_names_the_worst_pair():
    farm = [host("h1"), host("h2"), host("h3")]
    guests = [guest("big1", "h1", 48, cluster="db"), guest("big2", "h2", 48, cluster="mail")]
    result = assess(Simulator(FarmLoad.build(farm, guests), guests))
    assert result.tolerated == 1
    assert [dict(loss.restarts) for loss in result.singles] == [{"big1": "h3"}, {"big2": "h3"}, {}]
    pairs = result.pairs
    assert pairs is not None
    assert pairs.exact
    # Any two of three hosts leave one 64 GiB host for two 48 GiB VMs; ties go to the first pair by name.
    assert (pairs.total, pairs.failing) == (3, 3)
    assert pairs.worst is not None
    assert pairs.worst.hosts == ("h1", "h2")
    assert [(s.vm, s.reason) for s in pairs.worst.stranded] == [
        ("big2", "no host has 48 GiB of memory and 2 vCPUs free")]


def test_spread_strands_a_member_when_every_host_with_room_runs_its_cluster():
    farm = [host("h1"), host("h2"), host("h3")]
    guests = [guest("imap1", "h1", 4, cluster="imap"), guest("imap2", "h2", 4, cluster="imap"),
              guest("imap3", "h3", 4, cluster="imap")]
    result = assess(Simulator(FarmLoad.build(farm, guests), guests))
    assert result.tolerated == 0
    assert [s.reason for s in result.failing_singles[0].stranded] == [
        "every host with room already runs a member of imap"]


def test_pinned_and_local_vms_are_stranded_with_their_reason():
    farm = [host("h1"), host("h2")]
    guests = [guest("backup", "h1", 2), guest("db1", "h1", 2, cluster="db")]
    blocked = {"backup": "pinned to h1 in the fleet config", "db1": "its disk xvda is in pool local"}
    loss = Simulator(FarmLoad.build(farm, guests), guests, lambda g: blocked.get(g.name, "")).lose(("h1",))
    assert loss.restarts == ()
    assert {(s.vm, s.reason) for s in loss.stranded} == set(blocked.items())
    assert [s.vm for s in loss.members_stranded] == ["db1"]


def test_a_proposal_that_fills_the_last_escape_is_named_before_it_is_made():
    farm = [host("h1"), host("h2"), host("h3")]
    guests = [guest("db1", "h1", 40, cluster="db"), guest("db2", "h2", 8, cluster="db")]
    sim = Simulator(FarmLoad.build(farm, guests), guests)
    before = single_losses(sim)
    load = FarmLoad.build(farm, guests)
    newcomer = guest("web1", "h3", 40)
    after_guests = Proposal(guest=newcomer).apply(load, list(guests))
    after = single_losses(Simulator(load, after_guests))
    assert newly_stranding(before, after) == [("h1", ("db1",))]
    # Proposals play on the copy they are given: the simulator's own load is untouched.
    assert single_losses(sim) == before



def test_the_figure_is_worked_out_again_whenever_anything_the_simulation_reads_changed():
    """The site's figure after a change: the last one while the inputs are the same, else the new farm's."""
    farm = [host("h1"), host("h2"), host("h3")]
    guests = [guest("db1", "h1", 8, cluster="db"), guest("db2", "h2", 8, cluster="db"),
              guest("web1", "h3", 8)]

    def sim(farm: list[Host] = farm, guests: list[Guest] = guests, blocked: dict[str, str] | None = None,
            maintenance: Collection[str] = (), unreachable: Collection[str] = ()) -> Simulator:
        reasons = blocked or {}
        load = FarmLoad.build(farm, guests, maintenance=maintenance, unreachable=unreachable)
        return Simulator(load, guests, lambda g: reasons.get(g.name, ""))

    first = assess_again(sim(), pair_seconds=5.0)
    # A suspend, say: the same placement, read afresh from the inventory.
    assert assess_again(sim(guests=[replace(g) for g in guests]), pair_seconds=5.0) is first
    changes = {
        "a member's disk became local": sim(blocked={"db1": "its disk xvda is in pool local"}),
        "a host went into maintenance": sim(maintenance={"h3"}),
        "a host is not answering": sim(unreachable={"h1"}),
        "a host has less memory": sim([*farm[:2], host("h3", memory_gib=4)]),
        "a VM grew": sim(guests=[*guests[:2], guest("web1", "h3", 60)]),
        "a VM was stopped": sim(guests=[*guests[:2], replace(guests[2], active=False)]),
        "a member left its cluster": sim(guests=[guests[0], replace(guests[1], cluster="mail"), guests[2]]),
    }
    for why, changed in changes.items():
        before = assess_again(sim(), pair_seconds=5.0)
        after = assess_again(changed, pair_seconds=5.0)
        assert after == assess(changed, pair_seconds=5.0), why  # the changed farm's own figure
        assert after != before, why  # not the one remembered


def test_pairs_lost_counts_the_pairs_a_change_breaks_and_stops_where_the_farm_already_failed_one():
    farm = [host("h1"), host("h2"), host("h3"), host("h4")]
    guests = [guest("big1", "h1", 40, cluster="db"), guest("big2", "h2", 40, cluster="mail")]
    before = Simulator(FarmLoad.build(farm, guests), guests)
    assert assess(before).tolerated == 2
    closed = Simulator(FarmLoad.build(farm, guests, maintenance={"h4"}), guests)
    lost = pairs_lost(before, closed, pair_seconds=5.0)
    assert (lost.total, lost.tried, lost.failing_before) == (6, 6, 0)
    assert lost.lowers_figure
    # Exactly the pairs the closed farm fails on its own, since the open one failed none.
    assert lost.newly_failing == assess(closed).pairs.failing == 3  # h1+h2, h1+h3, h2+h3
    assert lost.worst.hosts == ("h1", "h2")
    # A farm that already fails a pair cannot lose its second failure: the walk stops there.
    again = pairs_lost(closed, closed, pair_seconds=5.0)
    assert again.failing_before == 1
    assert not again.lowers_figure


def test_pairs_lost_samples_when_the_time_runs_out():
    farm, guests = random_farm(1, hosts=30, vms=100)
    sim = Simulator(FarmLoad.build(farm, guests), guests)
    ticks = iter(range(1000))
    lost = pairs_lost(sim, sim, pair_seconds=9.5, clock=lambda: next(ticks))
    assert lost.total == 435
    assert lost.tried == 10  # the clock passed 9.5 after ten pairs
