"""Which function carries out which command; read-only ones answer, changing ones return a Plan."""

from __future__ import annotations

from collections.abc import Callable

from bot import (
    changes,
    farm_changes,
    farm_ops,
    history,
    queries,
    resilience,
    resource_changes,
    rolling,
    settings,
    strays,
)
from bot.context import Context, Plan, UnknownName
from bot.grammar import COMMANDS
from bot.parser import Command
from bot.results import Reply
from hypervisor.interface import LIFECYCLE_ACTIONS

Action = Callable[[Context, Command], Reply | Plan]

ACTIONS: dict[str, Action] = {
    "help": queries.help_,
    "where": queries.where,
    "show": queries.show,
    "list": queries.list_,
    "hosts": queries.hosts,
    "host": queries.host,
    "refresh": queries.refresh,
    "audit": queries.audit,
    **{action: changes.lifecycle for action in LIFECYCLE_ACTIONS},
    # Running the farm (issue 6): placement, evacuation, maintenance, recovery, health.
    "migrate": farm_ops.migrate,
    "evacuate": farm_ops.evacuate,
    "maintenance": farm_ops.maintenance,
    "recover": farm_ops.recover,
    "check": farm_ops.check,
    "resilience": resilience.resilience,
    "rolling": rolling.rolling,
    "repair": strays.repair,
    # templates, create/delete, resources, change management
    "templates": history.templates,
    "create": farm_changes.create,
    "delete": farm_changes.delete,
    "set": resource_changes.set_,
    "attach": resource_changes.attach,
    "detach": resource_changes.detach,
    "diff": history.diff,
    "history": history.history,
    "baseline": farm_changes.baseline,
    "autostart": settings.autostart,
    "policy": settings.policy,
}

missing = {spec.name for spec in COMMANDS} - set(ACTIONS)
if missing:  # a declared command without an action is a programming error, caught at import
    raise RuntimeError(f"commands without an action: {sorted(missing)}")

__all__ = ["ACTIONS", "Action", "Context", "Plan", "UnknownName"]
