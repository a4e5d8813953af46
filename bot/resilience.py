"""`resilience` in chat, and the what-if line of a change's preview: the farm's host failure figure.

The simulation itself is `hypervisor.resilience`; this module feeds it the inventory and the
fleet config's rules (ratios, shared pools, pinned VMs), and turns its answers into reply bodies
(bot/results.py: `ResilienceFigure`, `RestartPlan`), worded in bot/render_bodies.py.
"""

from __future__ import annotations

from bot import lookup
from bot.context import Context
from bot.parser import Command
from bot.render_bodies import SHOWN, body_text, pairs_text
from bot.results import LostHosts, Outcome, PairsTried, Reply, ResilienceFigure, RestartPlan, VMRestart
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
from inventory.load import restart_simulator

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
    """A preview's line when the change would lower the farm's figure; else "".

    To 0: the hosts whose failure would newly strand members. From 2 to 1: how many pairs of
    hosts would, and the worst (the same pairs played on both farms, within PREVIEW_PAIR_SECONDS).

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
    said = pairs_text(PairsTried(pairs.total, pairs.tried, pairs.newly_failing, lost_hosts(pairs.worst)))
    return ("\n  After this, the farm would survive any 1 host failure, not any 2: "
            f"{said[0].lower()}{said[1:]}.")


def resilience(ctx: Context, cmd: Command) -> Reply:
    """The farm's figure, or one host's restart plan if it failed now."""
    if "host" in cmd.args:
        host = lookup.host_name(ctx, cmd.args["host"])
        clusters = {record.name: record.vm.meta.cluster for record in ctx.inventory.vms_on(host)}
        plan = restart_plan(host, simulator(ctx).lose((host,)), clusters)
        return Reply(Outcome.OK, plan, body_text(plan).splitlines()[0], hosts=(host,))
    figure = figure_body(assess(simulator(ctx), pair_seconds=PAIR_SECONDS))
    return Reply(Outcome.OK, figure, body_text(figure).splitlines()[0])


def farm_figure(result: Resilience) -> str:
    """The figure in words (the site's overview): which failures the farm survives, the worst it does not."""
    return body_text(figure_body(result))


def figure_body(result: Resilience) -> ResilienceFigure:
    """The figure as a reply body: the hosts whose loss strands members, else the pairs tried."""
    pairs = result.pairs
    tried = None if pairs is None else PairsTried(pairs.total, pairs.tried, pairs.failing,
                                                  lost_hosts(pairs.worst) if pairs.worst else None)
    return ResilienceFigure(result.tolerated, tuple(map(lost_hosts, result.failing_singles)), tried)


def restart_plan(host: str, loss: HostLoss, clusters: dict[str, str]) -> RestartPlan:
    """What `host`'s failure would do now: each restart and where, then each VM staying down and why."""
    moved = (VMRestart(vm, clusters.get(vm, ""), to=target) for vm, target in loss.restarts)
    stuck = (VMRestart(s.vm, s.cluster, reason=s.reason) for s in loss.stranded)
    return RestartPlan(host, (*moved, *stuck))


def lost_hosts(loss: HostLoss) -> LostHosts:
    """A loss as a reply shows it: its hosts and the members of clusters it strands, with why."""
    return LostHosts(loss.hosts, tuple(VMRestart(s.vm, s.cluster, reason=s.reason)
                                       for s in loss.members_stranded))


def _names(vms: tuple[str, ...]) -> str:
    if len(vms) == 1:
        return vms[0]
    return ", ".join(vms[:-1]) + " and " + vms[-1]


