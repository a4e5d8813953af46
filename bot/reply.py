"""A command's reply: how it ended, what to show, one line for the audit; and the plainest bodies.

Every command answers with a Reply. The bodies of the quickest questions (a sentence, where a VM
is, what `check` found) are here; the cards and tables of the others are in bot/results.py, which
a question such as `where is ldap3` never imports.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from hypervisor.model import VM
from inventory.finding import Finding

if TYPE_CHECKING:
    from bot.results import Body


class Outcome(enum.Enum):
    """How a command ended, as the audit records it."""

    OK = "ok"
    REFUSED = "refused"  # not allowed, or not possible in the current state
    FAILED = "failed"  # tried and did not work
    USAGE = "usage"  # not a command
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"  # stopped between steps when asked to (Ctrl-C, the bot stopping)
    ERROR = "error"  # granja itself failed


@dataclass(frozen=True)
class Text:
    """A plain answer."""

    text: str


@dataclass(frozen=True)
class Located:
    """Where a VM is: live from its host, or last known when the host is not answering."""

    vm: VM
    live: bool
    last_seen: datetime | None = None
    corrected_from: str = ""  # the host the inventory wrongly had
    strays: tuple[str, ...] = ()  # other hosts holding a definition of it
    unreachable_reason: str = ""
    running: tuple[str, ...] = ()  # of the strays, those where it runs too (split brain)


@dataclass(frozen=True)
class FindingList:
    """What `check` found to need attention, each with its severity (info, warning, critical)."""

    findings: tuple[Finding, ...]

    def severity(self, index: int) -> str:
        """The severity of one finding: info, warning or critical."""
        return self.findings[index].severity


@dataclass(frozen=True)
class Reply:
    """A command's answer: what to show, how it ended, and one line for the audit."""

    outcome: Outcome
    body: Body
    summary: str
    vm: str = ""
    hosts: tuple[str, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether the command did what was asked."""
        return self.outcome is Outcome.OK


def ok(body: object, summary: str, *, vm: str = "", hosts: tuple[str, ...] = ()) -> Reply:
    """A successful answer."""
    return Reply(Outcome.OK, body, summary, vm=vm, hosts=hosts)  # type: ignore[arg-type]


def refused(message: str, *, vm: str = "", hosts: tuple[str, ...] = ()) -> Reply:
    """A refusal: nothing was done."""
    return Reply(Outcome.REFUSED, Text(message), message, vm=vm, hosts=hosts)


def failed(message: str, *, vm: str = "", hosts: tuple[str, ...] = ()) -> Reply:
    """A failure: it was tried and did not work."""
    return Reply(Outcome.FAILED, Text(message), message, vm=vm, hosts=hosts)


def interrupted(message: str, *, vm: str = "", hosts: tuple[str, ...] = ()) -> Reply:
    """Stopped when asked to: the message says where things are."""
    return Reply(Outcome.INTERRUPTED, Text(message), message, vm=vm, hosts=hosts)
