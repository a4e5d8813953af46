"""The host failure figure at scale: every single loss, then pairs, on a 1,000-host, 20,000-VM farm,
and a preview's what-if (the same pairs before and after a change, within the preview's budget).

The baseline, measured in the same run, is the recovery planner (`plan_recovery`, which scans
every host for every VM) on a sample of hosts, scaled to the whole farm: what computing the
figure would cost without the simulator's per-size rankings.
"""

from __future__ import annotations

import time

from benchmarks.core import report
from benchmarks.placement import generated_farm
from bot.resilience import PREVIEW_PAIR_SECONDS
from bot.watch import host_failures
from bot.watch.model import RestartRules, Rules
from bot.watch.picture import HostSeen, Snapshot
from hypervisor.placement import FarmLoad, Guest, Limits
from hypervisor.recovery import plan_recovery
from hypervisor.resilience import Simulator, assess, pairs_lost, single_losses

SAMPLED_HOSTS = 25
PAIR_SECONDS = 25.0


def resilience(size: int = 1000) -> None:
    """Single losses (exact) and pairs (within the budget) against the planner's cost on a sample."""
    hosts, vms, _ = generated_farm(size)
    guests = [Guest.of(vm, need_pools=True) for vm in vms]
    shared = {p.name for h in hosts for p in h.pools}

    begun = time.perf_counter()
    sim = Simulator(FarmLoad.build(hosts, guests), guests)
    singles = single_losses(sim)
    fast = time.perf_counter() - begun

    sample = [h.name for h in hosts[:SAMPLED_HOSTS]]
    begun = time.perf_counter()
    for name in sample:
        load = FarmLoad.build(hosts, guests, unreachable={name})
        plan_recovery(name, [vm for vm in vms if vm.host == name and vm.state.active], load,
                      shared_pools=shared)
    naive = (time.perf_counter() - begun) / len(sample) * len(hosts)
    for loss, name in zip(singles, sample, strict=False):  # the two agree where both ran
        assert loss.hosts == (name,)
    report(f"resilience, single losses, {size} hosts / {len(vms)} VMs",
           f"{fast:.2f} s = {fast / naive:.3f} × planner's {naive:.1f} s", "< 2 s")

    begun = time.perf_counter()
    result = assess(sim, pair_seconds=PAIR_SECONDS)
    took = time.perf_counter() - begun
    pairs = result.pairs
    if pairs is None:
        figure = f"k = 0 ({len(result.failing_singles)} hosts strand members): pairs not needed"
    else:
        kind = "exact" if pairs.exact else "sampled"
        figure = f"{took:.1f} s, {pairs.tried:,} of {pairs.total:,} pairs ({kind}), {pairs.failing} failing"
    report(f"resilience, figure with pairs, {size} hosts", figure, "< 30 s")

    # A preview's what-if: a host put in maintenance, single losses before and after, then the same
    # pairs on both farms within the preview's budget; against the figure's own time above.
    begun = time.perf_counter()
    closed = Simulator(FarmLoad.build(hosts, guests, maintenance={hosts[0].name}), guests)
    single_losses(closed)
    lost = pairs_lost(sim, closed, pair_seconds=PREVIEW_PAIR_SECONDS)
    what_if = time.perf_counter() - begun + fast
    report(f"resilience, a preview's what-if, {size} hosts",
           f"{what_if:.1f} s = {what_if / took:.2f} × the figure's {took:.1f} s, "
           f"{lost.tried:,} of {lost.total:,} pairs (sampled)", f"< {PREVIEW_PAIR_SECONDS:g} s of pairs")

    # The watcher's resilience condition on the same farm, as an evaluation after an event sees it:
    # the first (losses played) and one with placement unchanged (the last losses reused).
    seen = {h.name: HostSeen(h.name, host=h) for h in hosts}
    for vm in vms:
        seen[vm.host].vms[vm.name] = vm
    snap = Snapshot(hosts=seen, changes={})
    rules = Rules(restart=RestartRules(Limits(), tuple(shared), {}, lambda: ()))
    begun = time.perf_counter()
    list(host_failures.conditions(snap, rules, 0.0))
    first = time.perf_counter() - begun
    begun = time.perf_counter()
    list(host_failures.conditions(snap, rules, 0.0))
    again = time.perf_counter() - begun
    report(f"resilience, the watcher's condition, {size} hosts",
           f"{first:.2f} s = {first / fast:.1f} × the single losses; unchanged {again:.2f} s", "-")
