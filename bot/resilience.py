"""`resilience` in chat, and the what-if line of a change's preview: the farm's host failure figure.

The simulation itself is `hypervisor.resilience`; this module feeds it the inventory and the
fleet config's rules (ratios, shared pools, pinned VMs), and words its answers.
"""

from __future__ import annotations

from bot import lookup
from bot.context import Context
from bot.parser import Command
from bot.results import Outcome, Reply, Text
from hypervisor.resilience import (
    HostLoss,
    PairLoss,
    Proposal,
    Resilience,
    Simulator,
    assess,
    newly_stranding,
    pairs_lost,
    single_losses,
)
from hypervisor.words import plural
from inventory.load import restart_simulator

SHOWN = 6  # stranded VMs or hosts named in one sentence before "and N more"
PAIR_SECONDS = 20.0  # how long `resilience` may try pairs of hosts before it samples
SITE_PAIR_SECONDS = 1.0  # the same for the site's overview, worked out again after every placement
# change: the site says how many pairs it tried (the same shuffled order: a longer budget tries a
# superset), and `resilience` in the chat tries for 20 s. The demo farm's 105 pairs take milliseconds.
PREVIEW_PAIR_SECONDS = 2.0  # the what-if of a change's preview: the same pairs before and after it, at
# most this long (1,000 hosts: a sample of about 1,000 of the 499,500 pairs; benchmarks/resilience.py)


def simulator(ctx: Context, *, change: Proposal | None = None) -> Simulator:
    """A simulator of the farm as the inventory has it, or as it would be after `change`."""
    placement = ctx.config.placement
    return restart_simulator(ctx.inventory, limits=placement.limits, shared_pools=placement.shared_pools,
                             pinned_host=ctx.config.pinned_host, change=change)


def what_if(ctx: Context, change: Proposal) -> str:
    """A preview's line when the change would leave a host's failure stranding members; else "".

    It warns and does not refuse: the operator may have reasons (a host leaving for good).
    """
    was, will_be = simulator(ctx), simulator(ctx, change=change)
    before, after = single_losses(was), single_losses(will_be)
    worse = newly_stranding(before, after)
    if not worse:
        if any(loss.members_stranded for loss in after):
            return ""  # no single failure newly strands a member: the figure was 0 and stays 0
        return _pairs_what_if(pairs_lost(was, will_be, pair_seconds=PREVIEW_PAIR_SECONDS))
    clauses = [f"{host}'s failure would leave {_names(vms)} with nowhere to go"
               for host, vms in worse[:SHOWN]]
    more = f" (and {len(worse) - SHOWN} more hosts)" if len(worse) > SHOWN else ""
    return "\n  After this, " + "; ".join(clauses) + more + "."


def _pairs_what_if(pairs: PairLoss) -> str:
    """The preview's line when the farm survives any 2 failures now and would not after the change."""
    if not pairs.lowers_figure:
        return ""
    assert pairs.worst is not None  # a pair newly fails
    said = _pairs_failing(pairs.total, pairs.tried, pairs.newly_failing, pairs.worst)
    return ("\n  After this, the farm would survive any 1 host failure, not any 2: "
            f"{said[0].lower()}{said[1:]}.")


def resilience(ctx: Context, cmd: Command) -> Reply:
    """The farm's figure, or one host's restart plan if it failed now."""
    if "host" in cmd.args:
        host = lookup.host_name(ctx, cmd.args["host"])
        loss = simulator(ctx).lose((host,))
        text = host_plan(host, loss)
        return Reply(Outcome.OK, Text(text), text.splitlines()[0], hosts=(host,))
    text = farm_figure(assess(simulator(ctx), pair_seconds=PAIR_SECONDS))
    return Reply(Outcome.OK, Text(text), text.splitlines()[0])


def farm_figure(result: Resilience) -> str:
    """The figure in words: which failures the farm survives, and the worst it does not."""
    failing = result.failing_singles
    if failing:
        lines = [f"The farm does not survive every single host failure: the loss of "
                 f"{plural(len(failing), 'host')} would leave cluster members with nowhere to go."]
        lines += [f"  {loss.hosts[0]}: {_stranded(loss)}" for loss in failing[:SHOWN]]
        if len(failing) > SHOWN:
            lines.append(f"  and {len(failing) - SHOWN} more hosts")
        lines.append(f"Say 'resilience {failing[0].hosts[0]}' for what its failure would do.")
        return "\n".join(lines)
    pairs = result.pairs
    assert pairs is not None  # computed whenever every single failure is survived
    if result.tolerated == 2:
        return (f"The farm survives any 2 host failures: all {plural(pairs.total, 'pair')} of hosts "
                "were tried.")
    said = _pairs_failing(pairs.total, pairs.tried, pairs.failing, pairs.worst)
    return f"The farm survives any 1 host failure. {said}."


def _pairs_failing(total: int, tried: int, failing: int, worst: HostLoss | None) -> str:
    """How many pairs tried would strand members, and the worst: `resilience`'s words and the what-if's."""
    said = (f"Of the {total:,} pairs of hosts" if tried == total else
            f"Of {tried:,} pairs of hosts tried (a sample of the {total:,}: the time ran out)")
    if worst is None:
        return f"{said}, none would leave VMs with nowhere to go"
    return (f"{said}, {failing:,} would leave VMs with nowhere to go; "
            f"worst: {' + '.join(worst.hosts)} ({_stranded(worst)})")


def host_plan(host: str, loss: HostLoss) -> str:
    """What `host`'s failure would do now: each restart and where, each VM that would stay down and why."""
    moved, stuck = len(loss.restarts), len(loss.stranded)
    if not moved and not stuck:
        return f"{host} runs no VM now: its failure would stop nothing."
    head = f"If {host} failed now, {plural(moved, 'running VM')} would restart elsewhere"
    head += f" and {stuck} would not:" if stuck else ":"
    lines = [head]
    lines += [f"  {vm} → {target}" for vm, target in loss.restarts]
    lines += [f"  {s.vm} stays down: {s.reason}" for s in loss.stranded]
    return "\n".join(lines)


def _stranded(loss: HostLoss) -> str:
    members = loss.members_stranded
    shown = "; ".join(f"{s.vm}: {s.reason}" for s in members[:2])
    return shown + (f"; and {len(members) - 2} more" if len(members) > 2 else "")


def _names(vms: tuple[str, ...]) -> str:
    if len(vms) == 1:
        return vms[0]
    return ", ".join(vms[:-1]) + " and " + vms[-1]


