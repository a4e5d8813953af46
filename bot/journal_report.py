"""Changes a crashed or killed granja left unfinished: found in the journal, checked live, reported once.

Each report says, from what the hosts the change touched hold now, where each of its VMs is:
defined on two hosts (with the `repair` that resolves it), moved, or not tried. The audit gets
an entry with outcome `interrupted` under the change's command and user, and the journal entry
is settled so that the next process does not report it again. What the hosts said is recorded in
the inventory at once, credited to the change ("evacuate host07 (interrupted)", by its user, at
the time found): `list`, `where` and `history` are true from then on, the stray copies are known to
`check`, and no later command is blamed for what the crash left.
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
from inventory.natural import natural_key

log = logging.getLogger("granja.journal")


def report_orphans(farm: Farm, inventory: Inventory, journal: Journal, *, now: datetime) -> list[str]:
    """One plain report per change left unfinished; each is audited and settled."""
    reports: list[str] = []

    def report(operation: Operation) -> None:
        copies = _copies(farm, operation)
        text = describe(operation, copies)
        if copies is not None:
            record_truth(farm, inventory, journal, operation, copies, now=now)
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


def record_truth(farm: Farm, inventory: Inventory, journal: Journal, operation: Operation,
                 copies: dict[str, list[VM]], *, now: datetime) -> None:
    """Record where the operation's VMs are now, credited to it; a VM gone from every host is removed."""
    from bot.strays import current_copy  # repair's rule, and its imports: loaded only when a journal is found

    command, user = f"{operation.command} (interrupted)", operation.user
    for name in operation.vms:
        held = copies.get(name, [])
        if not held:  # not on the hosts the operation touched: removed (delete), or elsewhere
            held, silent = farm.definitions(name)
            if silent:
                continue
            if not held:
                inventory.forget_vm(name, at=now, command=command, user=user)
                continue
        record = inventory.vm(name)
        chosen = current_copy(inventory, journal, name, held, interrupted=operation)
        # Nothing says (it runs on two hosts): where the inventory has it, if it runs there.
        keep = chosen[0] if chosen else sorted(held, key=lambda v: (
            not v.state.active, record is None or v.host != record.vm.host, natural_key(v.host)))[0]
        unasked = [h for h in record.strays if h not in operation.hosts] if record else []
        strays = sorted({vm.host for vm in held if vm.host != keep.host}.union(unasked), key=natural_key)
        running = [vm.host for vm in held if vm.state.active and keep.state.active and vm.host != keep.host]
        inventory.record_vm(keep, at=now, command=command, user=user, strays=strays, running=running)


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
