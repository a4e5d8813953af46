"""Placement at scale: planning the evacuation of a 40-VM host on farms of 100 to 5,000 hosts."""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.core import report
from granja.demo_plan import plan_farm
from hypervisor.evacuation import Evacuation, plan_evacuation
from hypervisor.host_model import Host, Pool
from hypervisor.model import VM
from hypervisor.placement import FarmLoad, Guest
from inventory import Inventory
from inventory.health import findings
from inventory.load import farm_load

EVACUATED = 40


def generated_farm(hosts: int) -> tuple[list[Host], list[VM], str]:
    """Hosts and VMs of a generated farm (20 VMs a host on average), in memory; one host holds 40."""
    plan = plan_farm(hosts=hosts, vms=hosts * 20, seed=1)
    farm = [Host(name=h.name, uri="", driver="Xen", cpus=h.cores, memory_mib=h.memory_mib,
                 live_migration=True, pools=(Pool("local", 2**42, 0, 2**42),)) for h in plan.hosts]
    vms = [vm for h in plan.hosts for vm in h.vms]
    target = plan.hosts[0].name
    extra = EVACUATED - len(plan.hosts[0].vms)
    others = [i for i, vm in enumerate(vms) if vm.host != target][:extra]
    for i in others:  # bring the host up to 40 VMs, taken from its neighbours
        vms[i] = replace(vms[i], host=target)
    return farm, vms, target


def _plan(hosts: list[Host], vms: list[VM], target: str) -> tuple[float, float, Evacuation]:
    begun = time.perf_counter()
    load = FarmLoad.build(hosts, map(Guest.of, vms))
    built = time.perf_counter()
    plan = plan_evacuation(target, [vm for vm in vms if vm.host == target], load)
    return built - begun, time.perf_counter() - built, plan


def evacuation_plan(runs: int = 5) -> None:
    """Median time to index the farm and to plan moving a 40-VM host's VMs, by farm size."""
    for size in (100, 1000, 5000):
        hosts, vms, target = generated_farm(size)
        timings = [_plan(hosts, vms, target) for _ in range(runs)]
        plan = timings[-1][2]
        assert len(plan.moves) + len(plan.stuck) == EVACUATED
        index = statistics.median(t[0] for t in timings)
        planning = statistics.median(t[1] for t in timings)
        report(f"evacuation plan, {size} hosts / {len(vms)} VMs",
               f"index {index * 1000:.0f} ms + plan {planning * 1000:.0f} ms", "1,000 hosts < 1 s")
    _from_inventory(1000)


def _from_inventory(size: int) -> None:
    """The same at 1,000 hosts as the `evacuate` command does it: the load read from the inventory."""
    hosts, vms, target = generated_farm(size)
    with tempfile.TemporaryDirectory() as tmp:
        inventory = Inventory(Path(tmp))
        inventory.record_refresh(hosts=hosts, vms=vms, unreachable={}, at=datetime.now(UTC), duration_s=0)
        inventory = Inventory(Path(tmp))  # a fresh process: nothing read yet
        begun = time.perf_counter()
        inventory.host_names()  # reads and parses the JSON file, once per process and version
        parsed = time.perf_counter()
        load = farm_load(inventory)
        read = time.perf_counter()
        plan_evacuation(target, [r.vm for r in inventory.vms_on(target)], load)
        done = time.perf_counter()
        found = findings(inventory)
        checked = time.perf_counter()
        inventory.close()
    report(f"evacuation plan from inventory, {size} hosts",
           f"load {(read - parsed) * 1000:.0f} ms + plan {(done - read) * 1000:.0f} ms", "< 1 s")
    report("  (the JSON file's first read, once a process)", f"{(parsed - begun) * 1000:.0f} ms", "")
    report(f"check (health findings), {size} hosts", f"{checked - done:.1f} s, {len(found)} findings", "")
