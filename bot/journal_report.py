"""Changes a crashed or killed granja left unfinished: found in the journal, checked live, reported once.

Each report says, from what the hosts the change touched hold now, where each of its VMs is:
defined on two hosts (with the `repair` that resolves it), moved, or not tried. The audit gets
an entry with outcome `interrupted` under the change's command and user, and the journal entry
is settled so that the next process does not report it again.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime

from hypervisor.deadline import call_all
from hypervisor.farm import Farm
from hypervisor.model import VM
from inventory import AuditEntry, Inventory
from inventory.journal import Journal, Operation

log = logging.getLogger("granja.journal")


def report_orphans(farm: Farm, inventory: Inventory, journal: Journal, *, now: datetime) -> list[str]:
    """One plain report per change left unfinished; each is audited and settled."""
    reports: list[str] = []

    def report(operation: Operation) -> None:
        text = describe(operation, _copies(farm, operation))
        inventory.record_audit(AuditEntry(
            at=now, user=operation.user, channel="journal", text=operation.command,
            command=operation.command, vm=operation.vms[0] if len(operation.vms) == 1 else "",
            hosts=operation.hosts, outcome="interrupted", detail=text,
            extra={"journal": operation.id, "vms": ",".join(operation.vms)},
        ))
        reports.append(text)

    try:
        journal.settle_orphans(report, outcome="interrupted", at=now)
    except Exception:  # a report must never keep granja from starting; the next start tries again
        log.exception("could not report or settle an interrupted operation's journal")
    return reports


def _copies(farm: Farm, operation: Operation) -> dict[str, list[VM]] | None:
    """Every definition of the operation's VMs on the hosts it touched; None if one did not answer."""
    hosts = [h for h in operation.hosts if h in farm.host_names]
    outcomes = call_all({h: (lambda h=h: farm.driver(h).list_vms()) for h in hosts},
                        seconds=farm.timeout, workers=farm.workers)
    found: dict[str, list[VM]] = defaultdict(list)
    for outcome in outcomes.values():
        if outcome.error is not None or outcome.value is None:
            return None
        for vm in outcome.value:
            if vm.name in operation.vms:
                found[vm.name].append(vm)
    return found


def describe(operation: Operation, copies: dict[str, list[VM]] | None) -> str:
    """The report of one unfinished change, given where its VMs are defined now."""
    head = (f"An interrupted `{operation.command}` by {operation.user} at "
            f"{operation.started:%Y-%m-%d %H:%M} UTC was found")
    if copies is None:
        return (f"{head}; not every host it touched ({', '.join(operation.hosts)}) answers, so where its "
                f"VMs are is not known: 'refresh', then 'check' lists VMs defined on two hosts.")
    source = operation.hosts[0] if operation.hosts else ""
    twice, moved, stayed, nowhere = [], [], [], []
    for name in operation.vms:
        held = sorted(copies.get(name, []), key=lambda v: (not v.state.active, v.host))
        if len(held) > 1:
            others = ", ".join(f"{v.state.value}, on {v.host}" for v in held[1:])
            first = held[0]
            twice.append((name, f"{name} is {first.state.value} on {first.host} and also defined, {others}"))
        elif not held:
            nowhere.append(name)
        elif len(operation.hosts) == 1:
            moved.append(f"{name} is {held[0].state.value} on {held[0].host}")
        elif held[0].host == source:
            stayed.append(f"{name} ({held[0].state.value})")
        else:
            moved.append(f"{name} ({held[0].state.value} on {held[0].host})")
    parts = [text for _name, text in twice]
    if moved:
        parts.append(f"{', '.join(moved)} moved" if len(operation.hosts) > 1 else ", ".join(moved))
    if stayed:
        parts.append(f"{_count(stayed)} still on {source}: {', '.join(stayed)}")
    if nowhere:
        parts.append(f"{', '.join(nowhere)} defined on none of {', '.join(operation.hosts)}")
    fixes = " ".join(f"Say 'repair {name}' to keep its current definition and remove the others "
                     f"(disks are not touched)." for name, _text in twice)
    return f"{head}: " + "; ".join(parts) + "." + (f" {fixes}" if fixes else " No VM is defined twice.")


def _count(names: list[str]) -> str:
    return "1 VM is" if len(names) == 1 else f"{len(names)} VMs are"
