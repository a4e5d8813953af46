"""What the farm looks like now, asked of its hosts, for the scenario tests' assertions."""

from __future__ import annotations

from collections import defaultdict

from bot.engine import Engine
from hypervisor.model import VM


def live_vms(engine: Engine) -> dict[str, VM]:
    """Every VM as the hosts report it now, by name."""
    survey = engine.farm.survey()
    return {vm.name: vm for vm in survey.vms}


def spread_and_capacity_problems(engine: Engine) -> list[str]:
    """Clusters with two members on one host, and hosts whose running VMs exceed their memory."""
    survey = engine.farm.survey()
    problems = []
    members: dict[tuple[str, str], list[str]] = defaultdict(list)
    used: dict[str, int] = defaultdict(int)
    for vm in survey.vms:
        if vm.meta.cluster:
            members[vm.meta.cluster, vm.host].append(vm.name)
        if vm.state.active:
            used[vm.host] += vm.memory_mib
    problems += [f"{names} share {host}" for (_c, host), names in members.items() if len(names) > 1]
    problems += [f"{host} over memory" for host, mib in used.items() if mib > survey.hosts[host].memory_mib]
    return problems


def host_with_cluster_member(engine: Engine, cluster: str, *, besides: str) -> str:
    """A host running a member of `cluster` other than the VM `besides`."""
    return next(r.vm.host for r in engine.inventory.vms_in(cluster) if r.name != besides)
