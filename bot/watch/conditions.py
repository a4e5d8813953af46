"""A picture of the farm turned into conditions: pure, so `check` and the watcher say the same things.

Each condition's key is stable while the thing it is about stays wrong
(`host_unreachable:host07`, `cluster_degraded:imap`), so the tracker can
give it a `for` time and one alert. Messages say what, where and what it
affects; a host that stopped answering is one condition listing its VMs,
not one per VM.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime

from bot.watch import host_failures
from bot.watch.model import KINDS, ClusterRule, Condition, Rules
from bot.watch.picture import Change, HostSeen, Snapshot
from hypervisor.model import VM, VMState
from hypervisor.words import listed
from inventory.health import (
    VMS_NAMED,
    bond_message,
    drift_message,
    spread_message,
    stray_message,
    unreachable_message,
)
from inventory.natural import natural_key
from inventory.twice_words import running_twice_message

Ours = Callable[[Change], bool]
"""Whether a change was granja's own operation (not an alert)."""
Drift = Callable[[VM], list[str]]
"""The fields in which a VM differs from its baseline (none without a baseline)."""
Busy = Callable[[str, float], str]
"""The command of granja's operation running on a VM at a moment ("" when there is none)."""


def nothing_busy(_vm: str, _at: float) -> str:
    """A Busy for where no journal is at hand: no VM is in granja's hands."""
    return ""


def clock(at: float) -> str:
    """A moment as alerts write it: 03:12 UTC."""
    return f"{datetime.fromtimestamp(at, UTC):%H:%M} UTC"


def names(items: Iterable[str], limit: int = VMS_NAMED) -> str:
    """'a', 'a and b', 'a, b and c', with '… and N more' past `limit`."""
    return listed(sorted(set(items), key=natural_key), shown=limit) or "none"


def evaluate(snap: Snapshot, rules: Rules, *, now: float, ours: Ours, drift: Drift | None = None,
             busy: Busy = nothing_busy) -> list[Condition]:
    """Every condition the picture shows now, worst first.

    `busy` says which VMs granja's own operations have in hand: a cluster member down for one
    is not missing while it runs.
    """
    found = [
        *_hosts(snap, now),
        *_changes(snap, rules, now, ours),
        *_twice(snap, now),
        *_clusters(snap, rules, now, busy),
        *_host_facts(snap, rules, now),
        *host_failures.conditions(snap, rules, now),
        *(_drift(snap, drift, now) if drift is not None else ()),
    ]
    return sorted(found, key=lambda c: (-c.severity, c.kind, natural_key(c.subject)))


Unknown = Callable[[Condition], str]
"""Why a condition no longer seen may still hold ('' if its absence settles it)."""
# Kinds about VMs that do not run: settled once every VM they name runs on a host that answers
# (as after `recover HOST`), whatever its silent host would say.
SETTLED_BY_RUNNING = frozenset({"crashed", "stopped_outside", "cluster_degraded"})


def unknown_while_silent(snap: Snapshot) -> Unknown:
    """Why a condition about a host that is not answering, or not heard since the start, is not over.

    Its host's VMs are not known, so the condition may still hold: the tracker keeps its alert
    open, saying why ("host02 is not answering since 03:12 UTC").
    """
    silent = {}
    for seen in snap.hosts.values():
        at = f" at {clock(seen.down_since)}" if seen.down_since is not None else ""
        if not seen.heard:
            silent[seen.name] = f"{seen.name} has not answered since granja started{at}"
        elif not seen.up:
            since = f" since {clock(seen.down_since)}" if seen.down_since is not None else ""
            silent[seen.name] = f"{seen.name} is not answering{since}"
    running = {vm.name for seen in snap.hosts.values() if seen.up and seen.heard
               for vm in seen.vms.values() if vm.state is VMState.RUNNING}

    def why(condition: Condition) -> str:
        if condition.kind in SETTLED_BY_RUNNING and condition.vms and running.issuperset(condition.vms):
            return ""
        return "; ".join(silent[host] for host in condition.hosts if host in silent)

    return why


def _hosts(snap: Snapshot, now: float) -> Iterator[Condition]:
    for seen in snap.hosts.values():
        if seen.up:
            continue
        since = seen.down_since
        vms = sorted(seen.vms, key=natural_key) or list(seen.last_vms)  # not heard yet: as last listed
        moment = datetime.fromtimestamp(since, UTC) if since is not None else None
        yield Condition(
            key=f"host_unreachable:{seen.name}", kind="host_unreachable", subject=seen.name,
            message=unreachable_message(seen.name, moment, seen.reason, vms),
            cleared=f"{seen.name} answers again", since=since if since is not None else now,
            remedy=f"recover {seen.name}",
            hosts=(seen.name,), vms=tuple(vms))


def _changes(snap: Snapshot, rules: Rules, now: float, ours: Ours) -> Iterator[Condition]:
    for change in snap.changes.values():
        seen = snap.hosts.get(change.host)
        if seen is None or not seen.up:
            continue
        current = seen.vms.get(change.vm)
        state = current.state if current is not None else None
        if state != change.after:
            continue  # it changed again since: a newer change (or none) describes it
        kind = _change_kind(change)
        if kind is None or (kind != "crashed" and ours(change)):
            continue
        if KINDS[kind].severity == 0 and now - change.at > rules.notice_seconds:
            continue  # an info notice closes by itself
        yield _change_condition(kind, change)


def _change_kind(change: Change) -> str | None:
    if change.after is VMState.CRASHED or change.cause == "crashed":
        return "crashed" if change.after is not None and not change.after.active else None
    if change.after is VMState.SHUTOFF and change.before is not None and change.before.active:
        return "stopped_outside"
    if change.after is VMState.RUNNING and (change.before is None or not change.before.active):
        return "moved_outside" if change.origin else "started_outside"
    return None


def _change_condition(kind: str, change: Change) -> Condition:
    vm, host = change.vm, change.host
    how = f" ({change.cause})" if change.cause not in ("seen", "crashed") else ""
    text = {
        "crashed": (f"{vm} crashed on {host} at {clock(change.at)}", f"{vm} is running again",
                    f"start {vm}"),
        "stopped_outside": (f"{vm} stopped on {host} at {clock(change.at)}{how}, not by granja",
                            f"{vm} is running again", f"start {vm}"),
        "started_outside": (f"{vm} was started on {host} at {clock(change.at)}, not by granja",
                            f"{vm} is no longer running as started", ""),
        "moved_outside": (f"{vm} moved from {change.origin} to {host} at {clock(change.at)}, not by granja",
                          f"{vm} is no longer running on {host}", ""),
    }[kind]
    return Condition(key=f"{kind}:{vm}", kind=kind, subject=vm, message=text[0], cleared=text[1],
                     since=change.at, remedy=text[2], hosts=(host,), vms=(vm,), change=change)


def _twice(snap: Snapshot, now: float) -> Iterator[Condition]:
    defined: dict[str, list[str]] = {}
    running: dict[str, list[str]] = {}
    for seen in snap.hosts.values():
        for vm in seen.vms.values():
            defined.setdefault(vm.name, []).append(seen.name)
            if vm.state is VMState.RUNNING:  # not paused: a live migration's target waits paused
                running.setdefault(vm.name, []).append(seen.name)
    for name, hosts in sorted(running.items()):
        if len(hosts) > 1:
            yield Condition(key=f"running_twice:{name}", kind="running_twice", subject=name,
                            message=running_twice_message(name, hosts), cleared=f"{name} runs on one host",
                            since=now, hosts=tuple(sorted(hosts)), vms=(name,))
    for name, hosts in sorted(defined.items()):
        if len(hosts) > 1 and len(running.get(name, ())) < 2:
            yield Condition(key=f"defined_twice:{name}", kind="defined_twice", subject=name,
                            message=stray_message(name, hosts), remedy=f"repair {name}",
                            cleared=f"{name} is defined on one host", since=now,
                            hosts=tuple(sorted(hosts)), vms=(name,))


def _clusters(snap: Snapshot, rules: Rules, now: float, busy: Busy) -> Iterator[Condition]:
    members: dict[str, dict[str, tuple[VM, HostSeen]]] = {}
    for seen in snap.hosts.values():
        for vm in seen.vms.values():
            rule = rules.cluster_of(vm.name, vm.meta.cluster)
            if rule is None:
                continue
            mine = members.setdefault(rule.name, {})
            if vm.name not in mine or (seen.up and vm.state.active):
                mine[vm.name] = (vm, seen)
    for rule in rules.clusters:
        found = members.get(rule.name, {})
        if found:
            yield from _cluster(rule, found, now, busy)


def _cluster(rule: ClusterRule, found: dict[str, tuple[VM, HostSeen]], now: float,
             busy: Busy) -> Iterator[Condition]:
    running = {n for n, (vm, seen) in found.items() if seen.up and vm.state is VMState.RUNNING}
    wanted = rule.wanted(len(found))
    by_host: dict[str, list[str]] = {}
    for name, (vm, seen) in found.items():
        if seen.up and vm.state.active:
            by_host.setdefault(seen.name, []).append(name)
    for host, together in sorted(by_host.items()):
        if len(together) > 1:
            second = sorted(together, key=natural_key)[1]
            yield Condition(key=f"spread_broken:{rule.name}:{host}", kind="spread_broken", subject=rule.name,
                            message=spread_message(rule.name, sorted(together, key=natural_key), host),
                            cleared=f"cluster {rule.name} is spread again", since=now,
                            remedy=f"migrate {second}", hosts=(host,), vms=tuple(sorted(together)))
    if len(running) >= wanted:
        return
    # Down for granja's own operation (a rolling run, a restart): not missing while it runs.
    ours = {n: command for n, (_vm, seen) in found.items() if n not in running and seen.up
            for command in [busy(n, now)] if command}
    if len(running) + len(ours) >= wanted:
        return
    down = [(n, vm, seen) for n, (vm, seen) in found.items() if n not in running and n not in ours]
    need = f" ({wanted} wanted)" if wanted != len(found) else ""
    yield Condition(key=f"cluster_degraded:{rule.name}", kind="cluster_degraded", subject=rule.name,
                    message=f"cluster {rule.name}: {len(running)} of {len(found)} running{need}; "
                            + _why_down(down) + _for_granja(ours),
                    cleared=f"cluster {rule.name}: enough members running", since=_since(down, now),
                    remedy=_cluster_remedy(down), hosts=tuple(sorted({s.name for _, _, s in down})),
                    vms=tuple(sorted((n for n, _, _ in down), key=natural_key)))


def _why_down(down: list[tuple[str, VM, HostSeen]]) -> str:
    parts = []
    lost: dict[str, list[str]] = {}
    stopped: dict[tuple[str, str], list[str]] = {}
    for name, vm, seen in down:
        if not seen.up:
            lost.setdefault(seen.name, []).append(name)
        else:
            stopped.setdefault((vm.state.value, seen.name), []).append(name)
    for host, vms in sorted(lost.items()):
        since = next(s.down_since for _, _, s in down if s.name == host)
        verb = "was" if len(vms) == 1 else "were"
        when = f"is not answering since {clock(since)}" if since is not None else "has never answered"
        parts.append(f"{names(vms)} {verb} on {host}, which {when}")
    for (state, host), vms in sorted(stopped.items()):
        parts.append(f"{names(vms)} {'is' if len(vms) == 1 else 'are'} {state} on {host}")
    return "; ".join(parts)


def _for_granja(ours: dict[str, str]) -> str:
    by_command: dict[str, list[str]] = {}
    for name, command in ours.items():
        by_command.setdefault(command, []).append(name)
    return "".join(f"; {names(vms)} {'is' if len(vms) == 1 else 'are'} down for granja's '{command}'"
                   for command, vms in sorted(by_command.items()))


def _since(down: list[tuple[str, VM, HostSeen]], now: float) -> float:
    moments = [seen.down_since for _, _, seen in down if seen.down_since is not None]
    return min(moments) if moments else now


def _cluster_remedy(down: list[tuple[str, VM, HostSeen]]) -> str:
    for name, _vm, seen in sorted(down, key=lambda d: natural_key(d[0])):
        if seen.up:
            return f"start {name}"
    lost = sorted({seen.name for _, _, seen in down}, key=natural_key)
    return f"recover {lost[0]}" if lost else ""


def _host_facts(snap: Snapshot, rules: Rules, now: float) -> Iterator[Condition]:
    for seen in snap.hosts.values():
        if not seen.up or seen.host is None:
            continue
        facts = seen.host.facts
        for bond in facts.bonds if facts is not None else ():
            if bond.degraded_slaves:
                yield Condition(key=f"bond_degraded:{seen.name}:{bond.name}", kind="bond_degraded",
                                subject=seen.name, message=bond_message(seen.name, bond),
                                cleared=f"{seen.name} {bond.name} has every slave up", since=now,
                                hosts=(seen.name,))
        for pool in seen.host.pools:
            if not pool.capacity_bytes:
                continue
            used = 100.0 * pool.allocation_bytes / pool.capacity_bytes
            if used > rules.pool_full:
                yield Condition(key=f"pool_full:{seen.name}:{pool.name}", kind="pool_full", subject=seen.name,
                                message=f"{seen.name} pool {pool.name} is {used:.0f}% full "
                                        f"({pool.available_bytes / 2**30:.1f} GiB free; the limit is "
                                        f"{rules.pool_full:g}%)",
                                cleared=f"{seen.name} pool {pool.name} is below {rules.pool_full:g}%",
                                since=now, hosts=(seen.name,))


def _drift(snap: Snapshot, drift: Drift, now: float) -> Iterator[Condition]:
    for seen in snap.hosts.values():
        for vm in seen.vms.values():
            fields = drift(vm) if vm.uuid else []
            if fields:
                yield Condition(key=f"drift:{vm.name}", kind="drift", subject=vm.name,
                                message=drift_message(vm.name, fields),
                                cleared=f"{vm.name} matches its baseline again", since=now,
                                hosts=(seen.name,), vms=(vm.name,))
