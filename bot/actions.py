"""Which function carries out which command; read-only ones answer, changing ones return a Plan."""

from __future__ import annotations

from collections.abc import Callable

from bot import changes, queries, settings
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
    "migrate": changes.migrate,
    **{action: changes.lifecycle for action in LIFECYCLE_ACTIONS},
    "autostart": settings.autostart,
    "policy": settings.policy,
}

missing = {spec.name for spec in COMMANDS} - set(ACTIONS)
if missing:  # a declared command without an action is a programming error, caught at import
    raise RuntimeError(f"commands without an action: {sorted(missing)}")

__all__ = ["ACTIONS", "Action", "Context", "Plan", "UnknownName"]
