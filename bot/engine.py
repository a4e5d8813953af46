"""The command engine: parse, authorize, plan, confirm, act, audit; the same for every front end.

A front end hands over a ChatEvent and gets back either a Reply (read-only
commands, refusals, errors) or a Pending change, which it confirms or
cancels later — at once on the console, by a button click in Slack, where
`claim` checks that the clicker may decide and that the change is still
waiting. Only one operation runs on a VM at a time. Every path ends in
exactly one audit entry.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.access import Standing
from bot.actions import ACTIONS, Context, Plan, UnknownName
from bot.fleet import FleetConfig
from bot.grammar import role_allows
from bot.parser import Command, ParseError, parse
from bot.pending import Waiting
from bot.reply import Outcome, Reply, Text, failed, interrupted, refused
from bot.vmlocks import Busy, Holder, LockFailed, is_host_key
from hypervisor.errors import (
    HostUnreachable,
    HypervisorError,
    InsufficientCapacity,
    Interrupted,
    WrongState,
)
from hypervisor.farm import Farm
from hypervisor.interface import Turn
from inventory import AuditEntry, Inventory
from inventory.disclosure import redact_entry, redact_text, truncated
from inventory.journal import Journal

log = logging.getLogger("granja.engine")
Progress = Callable[[str], None]


@dataclass(frozen=True)
class ChatEvent:
    """One message to the bot: who said what, where.

    `extra` carries front-end facts for the audit (Slack: channel, thread, team)
    and three keys the engine reads: `who` (how to name the user to others,
    e.g. a Slack mention), `groups` (comma-separated user-group IDs) and
    `channel_type` ("im" for a direct message).
    """

    user: str
    text: str
    channel: str = "console"
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def who(self) -> str:
        """The user as other people should read it."""
        return self.extra.get("who") or self.user


class ClaimRefused(Exception):
    """A click on a confirmation that must not run: not the clicker's to decide, or no longer waiting."""

    def __init__(self, message: str, *, over: bool) -> None:
        self.over = over  # the request will never run: its buttons can go
        super().__init__(message)


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
        self.on_finish: Callable[[str, str, float], None] | None = None
        """Called with (command, outcome, seconds) as every command ends (the metrics count them)."""
        self.waiting: Waiting[Pending] = Waiting(ttl=config.access.confirm_seconds)
        self.busy = Busy(inventory.directory / "locks")
        self.journal = Journal(inventory.directory / "journal")
        self.stopping = threading.Event()
        """Set by a front end's signal handler: running changes stop after their current step."""
        self._doing: dict[str, str] = {}  # running change -> its latest step, for 'what are we waiting for'
        self._idle = threading.Condition()
        self.interrupted = False
        """Whether a change of this engine was cut short by `stopping` (a front end's exit code says so)."""

    def close(self) -> None:
        """Release the inventory's open files; the engine must not be used afterwards."""
        self.inventory.close()

    def standing(self, event: ChatEvent) -> Standing:
        """The role the event's user may act with where they wrote, and why."""
        groups = [g for g in event.extra.get("groups", "").split(",") if g]
        return self.config.access.standing(event.user, groups=groups, channel=event.channel,
                                           direct=event.extra.get("channel_type") == "im")

    def prepare(self, event: ChatEvent) -> Reply | Pending:
        """Handle a message: answer it, or return the change it asks for, to be confirmed."""
        begun = time.monotonic()
        self.expire()
        standing = self.standing(event)
        role = standing.role
        if not role:  # a stranger: one refusal, no parsing feedback, no echo; the audit keeps little
            message = f"Not allowed here: {standing.why}."
            reply = Reply(Outcome.REFUSED, Text(message), message, extra={"stranger": "yes"})
            short = truncated(redact_text(event.text, self.config.site.secrets))  # no half a secret kept
            kept = ChatEvent(user=event.user, text=short, channel=event.channel,
                             extra=event.extra)
            return self._finish(kept, None, role, begun, reply)
        try:
            command = parse(event.text)
        except ParseError as exc:
            return self._finish(event, None, role, begun, Reply(Outcome.USAGE, Text(str(exc)), str(exc)))
        spec = command.spec
        vm = command.args.get("vm", "")
        if not role_allows(role, spec.role):
            message = f"'{spec.name}' needs the {spec.role} role; {standing.why}. Ask an admin."
            return self._finish(event, command, role, begun, refused(message, vm=vm))
        try:
            holder = self.busy.holder(vm) if spec.changes and vm else None
        except LockFailed as exc:
            return self._finish(event, command, role, begun, failed(f"{exc} Nothing was done.", vm=vm))
        if holder is not None:
            busy = refused(self.busy.busy_message(vm, holder), vm=vm)
            return self._finish(event, command, role, begun, busy)
        outcome = self._guarded(command, lambda: ACTIONS[spec.name](self._context(event, role), command))
        if isinstance(outcome, Plan):
            try:
                taken = next(((n, h) for n in outcome.held if (h := self.busy.holder(n)) is not None), None)
            except LockFailed as exc:
                reply = failed(f"{exc} Nothing was done.", vm=outcome.vm, hosts=outcome.hosts)
                return self._finish(event, command, role, begun, reply)
            if taken is not None:  # a VM an evacuation would move is busy: say so now, not after Confirm
                return self._finish(event, command, role, begun, self._busy(command, outcome, *taken))
            pending = Pending(id=os.urandom(8).hex(), event=event, command=command, plan=outcome,
                              role=role, created=time.monotonic())
            self.waiting.add(pending.id, pending)
            return pending
        return self._finish(event, command, role, begun, outcome)

    def claim(self, pending_id: str, *, by: ChatEvent, confirming: bool) -> Pending:
        """Take a waiting change for the person who clicked; raises ClaimRefused if it must not run."""
        clicker = self.standing(by)
        pending, status = self.waiting.claim(
            pending_id, may=lambda p: by.user == p.event.user or clicker.role == "admin")
        if pending is None:
            raise ClaimRefused(self.waiting.how_settled(pending_id) or
                               "That request is no longer waiting (granja may have restarted); "
                               "nothing was done. Ask again.", over=True)
        if status == "expired":
            self.cancel(pending, by=by.user, reason=f"not confirmed within {self.expiry}")
            raise ClaimRefused(self.waiting.how_settled(pending_id), over=True)
        if status == "refused":  # it stays the requester's (or an admin's) to decide
            verb = "confirm" if confirming else "cancel"
            message = (f"Only {pending.event.who} (who asked) or an admin can {verb} "
                       f"'{pending.command.canonical()}'; nothing was done.")
            self._finish(by, pending.command, clicker.role, time.monotonic(),
                         refused(message, vm=pending.plan.vm), {"request": pending.id})
            raise ClaimRefused(message, over=False)
        # Settled at once: a simultaneous second click is told the truth, not "no longer waiting".
        verb = "confirmed" if confirming else "cancelled"
        decider = self._name(pending.event, by.user)
        self.waiting.settle(pending_id,
                            f"That request was already {verb} by {decider}; nothing more was done.")
        return pending

    def expire(self) -> list[Pending]:
        """Cancel every change that waited too long for its confirmation, recording each; returns them."""
        overdue = self.waiting.expired()
        for pending in overdue:
            self.cancel(pending, by="granja", reason=f"not confirmed within {self.expiry}")
        return overdue

    @property
    def expiry(self) -> str:
        """How long a change waits for its confirmation, as people say it ("5 min")."""
        seconds = self.config.access.confirm_seconds
        return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"

    @staticmethod
    def _name(asker: ChatEvent, user: str) -> str:
        """Another user named the way the asker's front end names people (a Slack mention, or the login)."""
        return f"<@{user}>" if asker.who == f"<@{asker.user}>" else user

    def confirm(self, pending: Pending, *, by: str, progress: Progress | None = None,
                extra: dict[str, str] | None = None, on_held: Callable[[], None] | None = None) -> Reply:
        """Carry out a confirmed change and record it, with who confirmed it; one operation per VM.

        `on_held` is called once its VMs and hosts are held, before the change starts: a front end
        says "starting" then, so whoever reads that and asks for the same VM finds it busy.
        """
        begun = time.monotonic()
        extra = {**(extra or {}), **({"confirmed_by": by} if by != pending.event.user else {})}
        held = pending.plan.held
        try:
            taken = self.busy.hold_all(held, who=pending.event.who, what=pending.command.canonical())
        except LockFailed as exc:  # hold_all gave back what it took
            self.waiting.settle(pending.id, "That request failed: a lock could not be taken. Ask again.")
            reply = failed(f"{exc} Nothing was done.", vm=pending.plan.vm, hosts=pending.plan.hosts)
            return self._finish(pending.event, pending.command, pending.role, begun, reply, extra)
        if taken is not None:
            self.waiting.settle(pending.id, "That request was refused: the VM was busy. Ask again.")
            reply = self._busy(pending.command, pending.plan, *taken)
            return self._finish(pending.event, pending.command, pending.role, begun, reply, extra)
        try:  # from here on, whatever happens, the locks are given back
            if on_held is not None:
                on_held()
            confirmer = self._name(pending.event, by)
            self.waiting.settle(pending.id,
                                f"That request was already confirmed by {confirmer}; nothing more was done.")
            done = self._journaled(pending, progress)
        finally:
            self.busy.release_all(held)
        reply = self._finish(pending.event, pending.command, pending.role, begun, done, extra)
        if self.on_change is not None:
            try:
                self.on_change(reply)
            except Exception:  # publishing is a courtesy; the change itself is done and recorded
                log.exception("the after-change hook failed for %r", pending.command.canonical())
        return reply

    def _journaled(self, pending: Pending, progress: Progress | None) -> Reply:
        """Run a confirmed change with its intent and steps in the journal, unless granja is stopping."""
        command, plan = pending.command.canonical(), pending.plan
        if self.stopping.is_set():
            message = f"granja is stopping; nothing was done. Ask again: {command}"
            self.interrupted = True
            return interrupted(message, vm=plan.vm, hosts=plan.hosts)
        try:
            running = self.journal.begin(command=command, user=pending.event.user, plan=plan.preview,
                                         vms=tuple(n for n in plan.held if not is_host_key(n)),
                                         hosts=plan.hosts, at=self.clock())
        except OSError as exc:
            message = f"Could not write the operation journal ({exc.strerror or exc}); nothing was done."
            return Reply(Outcome.FAILED, Text(message), message, vm=plan.vm, hosts=plan.hosts)

        def step(line: str) -> None:
            with self._idle:
                self._doing[running.operation.id] = f"{command}: {line}"
            try:
                self.journal.step(running, line, taking=line.vms if isinstance(line, Turn) else None)
            finally:
                _harmless(progress)(line)

        with self._idle:
            self._doing[running.operation.id] = f"{command}: starting"
        try:
            done = self._guarded(pending.command, lambda: plan.run(_harmless(step)))
            assert isinstance(done, Reply)
            self.interrupted = self.interrupted or done.outcome is Outcome.INTERRUPTED
            try:
                self.journal.settle(running, outcome=done.outcome.value, at=self.clock())
            except OSError:
                log.exception("could not settle the journal of %r", command)
        finally:
            with self._idle:
                del self._doing[running.operation.id]
                self._idle.notify_all()
        return done

    def waiting_for(self) -> list[str]:
        """The changes running now, each with its latest step: what a stop waits for."""
        with self._idle:
            return list(self._doing.values())

    def wait_idle(self, seconds: float) -> bool:
        """Wait until no change runs, at most `seconds`; whether none runs."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._doing, seconds)

    def found_journals(self) -> list[str]:
        """Report (and audit, once) changes a crashed or killed granja process left unfinished."""
        from bot.journal_report import report_orphans

        return report_orphans(self.farm, self.inventory, self.journal, now=self.clock())

    def cancel(self, pending: Pending, *, by: str, reason: str = "cancelled",
               extra: dict[str, str] | None = None) -> Reply:
        """Drop a pending change; nothing is done, and the audit says so."""
        if reason == "cancelled":  # a person's click
            who = self._name(pending.event, by)
            how = f"That request was already cancelled by {who}; nothing more was done."
        elif by == "granja" or reason.startswith("not confirmed within"):
            how = f"That request expired after {self.expiry}; nothing was done. Ask again."
        else:
            how = f"That request was {reason}; nothing was done."
        self.waiting.settle(pending.id, how)
        message = f"Nothing was done: '{pending.command.canonical()}' was {reason}."
        reply = Reply(Outcome.CANCELLED, Text(message), message, vm=pending.plan.vm)
        return self._finish(pending.event, pending.command, pending.role, time.monotonic(), reply,
                            {**(extra or {}), "cancelled_by": by})

    def _busy(self, command: Command, plan: Plan, name: str, holder: Holder) -> Reply:
        """The refusal of a change because something it needs is busy, naming who holds it."""
        message = self.busy.busy_message(name, holder)
        if name != plan.vm:  # one of several VMs, or the host: say which command cannot run
            message = f"Cannot {command.canonical()} now: {message}"
        return Reply(Outcome.REFUSED, Text(message), message, vm=plan.vm, hosts=plan.hosts)

    def _context(self, event: ChatEvent, role: str) -> Context:
        return Context(config=self.config, farm=self.farm, inventory=self.inventory,
                       user=event.user, role=role, now=self.clock, should_stop=self.stopping.is_set,
                       channel=event.channel)

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
        except Interrupted as exc:
            return interrupted(str(exc), vm=vm)
        except HypervisorError as exc:
            return Reply(Outcome.FAILED, Text(str(exc)), str(exc), vm=vm)
        except Exception:
            error_id = os.urandom(3).hex().upper()
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
        entry = redact_entry(entry, self.config.site.secrets)  # stored, logged and shown without secrets
        try:
            self.inventory.record_audit(entry)
        except Exception:  # the answer still matters more than its record
            log.exception("could not write the audit entry for %r", entry.text)
        if self.on_finish is not None:
            self.on_finish(command.spec.name if command else "unparsed", reply.outcome.value,
                           entry.duration_ms / 1000)
        return reply


def _harmless(progress: Progress | None) -> Progress:
    """A progress callback that cannot break the change it reports on.

    A closed console pipe or a failing chat.update must not stop a migration
    half-way (defined on the target, still running on the source).
    """
    def report(line: str) -> None:
        if progress is None:
            return
        try:
            progress(line)
        except Exception:
            log.warning("could not report progress %r", line, exc_info=True)

    return report
