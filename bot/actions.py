"""Which function carries out which command; read-only ones answer, changing ones return a Plan.

Each command's module is imported the first time the command runs, so a read-only question
(`granja ask "where is ldap3"`) does not pay for importing provisioning, placement and rolling code.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping

from bot.context import Context, Plan, UnknownName
from bot.grammar import COMMANDS
from bot.parser import Command
from bot.reply import Reply
from hypervisor.interface import LIFECYCLE_ACTIONS

Action = Callable[[Context, Command], Reply | Plan]

# command -> "module.function" inside bot/
WHERE: dict[str, str] = {
    "help": "queries.help_",
    "where": "locate.where",
    "show": "queries.show",
    "list": "queries.list_",
    "hosts": "queries.hosts",
    "host": "queries.host",
    "refresh": "queries.refresh",
    "audit": "audit_query.audit",
    **{action: "changes.lifecycle" for action in LIFECYCLE_ACTIONS},
    # Running the farm (issue 6): placement, evacuation, maintenance, recovery, health.
    "migrate": "farm_ops.migrate",
    "evacuate": "farm_ops.evacuate",
    "maintenance": "farm_ops.maintenance",
    "recover": "farm_ops.recover",
    "check": "farm_ops.check",
    "resilience": "resilience.resilience",
    "rolling": "rolling.rolling",
    "repair": "strays.repair",
    # templates, create/delete, resources, change management
    "templates": "history.templates",
    "create": "farm_changes.create",
    "delete": "farm_changes.delete",
    "set": "resource_changes.set_",
    "attach": "resource_changes.attach",
    "detach": "resource_changes.detach",
    "diff": "history.diff",
    "history": "history.history",
    "baseline": "farm_changes.baseline",
    "autostart": "settings.autostart",
    "policy": "settings.policy",
}


class _Actions(Mapping[str, Action]):
    """Command name -> its function, importing the function's module on first use."""

    def __getitem__(self, name: str) -> Action:
        module, _, function = WHERE[name].rpartition(".")
        found: Action = getattr(importlib.import_module(f"bot.{module}"), function)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(WHERE)

    def __len__(self) -> int:
        return len(WHERE)


ACTIONS: Mapping[str, Action] = _Actions()

missing = {spec.name for spec in COMMANDS} - set(WHERE)
if missing:  # a declared command without an action is a programming error, caught at import
    raise RuntimeError(f"commands without an action: {sorted(missing)}")

__all__ = ["ACTIONS", "Action", "Context", "Plan", "UnknownName"]
