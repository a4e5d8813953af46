"""The command engine: parse, authorize, plan, confirm, act, audit; the same for every front end.

A front end hands over a ChatEvent and gets back either a Reply (read-only
commands, refusals, errors) or a Pending change, which it confirms or
cancels later — at once on the console, by a button click in Slack. Every
path ends in exactly one audit entry.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.actions import ACTIONS, Context, Plan, UnknownName
from bot.grammar import role_allows
from bot.parser import Command, ParseError, parse
from bot.results import Outcome, Reply, Text, refused
from granja.config import FleetConfig
from hypervisor.errors import (
    HostUnreachable,
    HypervisorError,
    InsufficientCapacity,
    WrongState,
)
from hypervisor.farm import Farm
from inventory import AuditEntry, Inventory

log = logging.getLogger("granja.engine")
Progress = Callable[[str], None]


@dataclass(frozen=True)
class ChatEvent:
    """One message to the bot: who said what, where."""

    user: str
    text: str
    channel: str = "console"
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Pending:
    """A change waiting for confirmation: what will happen and who asked."""

    id: str
    event: ChatEvent
    command: Command
    plan: Plan
    role: str
    created: float


class Engine:
    """Runs chat commands against the farm and records every one of them."""

    def __init__(
        self,
        *,
        config: FleetConfig,
        farm: Farm,
        inventory: Inventory,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_change: Callable[[Reply], None] | None = None,
    ) -> None:
        self.config = config
        self.farm = farm
        self.inventory = inventory
        self.clock = clock
        self.on_change = on_change
        """Called after every confirmed change has run, whatever its outcome (the site republishes)."""

    def prepare(self, event: ChatEvent) -> Reply | Pending:
        """Handle a message: answer it, or return the change it asks for, to be confirmed."""
        begun = time.monotonic()
        role = self.config.role_of(event.user) or ""
        try:
            command = parse(event.text)
        except ParseError as exc:
            return self._finish(event, None, role, begun, Reply(Outcome.USAGE, Text(str(exc)), str(exc)))
        spec = command.spec
        if not role_allows(role, spec.role):
            who = f"your role is {role}" if role else f"{event.user} has no role in this farm"
            message = f"'{spec.name}' needs the {spec.role} role; {who}. Ask an admin."
            return self._finish(event, command, role, begun, refused(message, vm=command.args.get("vm", "")))
        outcome = self._guarded(command, lambda: ACTIONS[spec.name](self._context(event, role), command))
        if isinstance(outcome, Plan):
            return Pending(id=secrets.token_hex(4), event=event, command=command, plan=outcome,
                           role=role, created=time.monotonic())
        return self._finish(event, command, role, begun, outcome)

    def confirm(self, pending: Pending, *, by: str, progress: Progress | None = None) -> Reply:
        """Carry out a confirmed change and record it, with who confirmed it."""
        begun = time.monotonic()
        reply = self._guarded(pending.command, lambda: pending.plan.run(progress or (lambda _m: None)))
        assert isinstance(reply, Reply)
        extra = {"confirmed_by": by} if by != pending.event.user else {}
        reply = self._finish(pending.event, pending.command, pending.role, begun, reply, extra)
        if self.on_change is not None:
            try:
                self.on_change(reply)
            except Exception:  # publishing is a courtesy; the change itself is done and recorded
                log.exception("the after-change hook failed for %r", pending.command.canonical())
        return reply

    def cancel(self, pending: Pending, *, by: str, reason: str = "cancelled") -> Reply:
        """Drop a pending change; nothing is done, and the audit says so."""
        message = f"Nothing done: {pending.plan.preview} was {reason}."
        reply = Reply(Outcome.CANCELLED, Text(message), message, vm=pending.plan.vm)
        return self._finish(pending.event, pending.command, pending.role, time.monotonic(), reply,
                            {"cancelled_by": by})

    def _context(self, event: ChatEvent, role: str) -> Context:
        return Context(config=self.config, farm=self.farm, inventory=self.inventory,
                       user=event.user, role=role, now=self.clock)

    def _guarded(self, command: Command, step: Callable[[], Reply | Plan]) -> Reply | Plan:
        """Run a step, turning every error into a Reply a person can read."""
        vm = command.args.get("vm", "")
        try:
            return step()
        except UnknownName as exc:
            return Reply(Outcome.FAILED, Text(str(exc)), str(exc), vm=vm)
        except (WrongState, InsufficientCapacity) as exc:
            return refused(str(exc), vm=vm)
        except HostUnreachable as exc:
            message = f"{exc} Nothing was changed."
            return Reply(Outcome.FAILED, Text(message), message, vm=vm, hosts=(exc.host,))
        except HypervisorError as exc:
            return Reply(Outcome.FAILED, Text(str(exc)), str(exc), vm=vm)
        except Exception:
            error_id = secrets.token_hex(3).upper()
            log.exception("error %s while running %r", error_id, command.canonical())
            message = (f"Something went wrong inside granja (error {error_id}); "
                       "the log has the details under that ID.")
            return Reply(Outcome.ERROR, Text(message), message, vm=vm)

    def _finish(
        self,
        event: ChatEvent,
        command: Command | None,
        role: str,
        begun: float,
        reply: Reply,
        extra: dict[str, str] | None = None,
    ) -> Reply:
        entry = AuditEntry(
            id="", at=self.clock(), user=event.user, channel=event.channel, text=event.text,
            command=command.canonical() if command else "", vm=reply.vm, hosts=reply.hosts,
            outcome=reply.outcome.value, detail=reply.summary,
            duration_ms=(time.monotonic() - begun) * 1000, role=role,
            extra={**event.extra, **reply.extra, **(extra or {})},
        )
        try:
            self.inventory.record_audit(entry)
        except Exception:  # the answer still matters more than its record
            log.exception("could not write the audit entry for %r", event.text)
        return reply
