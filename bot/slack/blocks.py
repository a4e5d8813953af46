"""Replies as Slack Block Kit with a plain-text fallback, split at line ends to fit Slack's limits.

A VM's configuration is a card (header, fields, disks, NICs); an
evacuation's outcome, `check` and a VM's history are lists naming people
by name (`bot.slack.people`: the names are looked up before rendering and
passed in, so rendering stays pure); tables keep their columns in code
blocks; any other body is its text form. Long text is
split into sections of at most SECTION_CHARS at line ends, and past
MAX_BLOCKS the rest is summarized as "N more lines", never cut mid-line.
"""

from __future__ import annotations

from datetime import UTC
from functools import singledispatch
from typing import Any

from bot.render_bodies import change_what, usage_text
from bot.render_text import render, when
from bot.results import (
    AuditTable,
    Done,
    FindingList,
    HistoryView,
    HostEmptied,
    Located,
    Outcome,
    Reply,
    RollingRun,
    Text,
    VMCard,
    VMTable,
)
from bot.slack.people import NOBODY, People, mentioned, person, say, user_id
from bot.slack.safe import no_backticks, slack_code, slack_escape
from hypervisor.model import gib, size_text

Block = dict[str, Any]
SECTION_CHARS = 2900  # Slack allows 3,000 characters in a section; room for the code fences
MAX_BLOCKS = 45  # Slack allows 50 blocks in a message; room for a header and a summary line
FALLBACK_CHARS = 3000  # the notification text; the blocks carry the whole answer
_ICON = {Outcome.OK: ":white_check_mark:", Outcome.REFUSED: ":no_entry:", Outcome.FAILED: ":x:",
         Outcome.USAGE: ":grey_question:", Outcome.CANCELLED: ":heavy_multiplication_x:",
         Outcome.ERROR: ":warning:", Outcome.INTERRUPTED: ":octagonal_sign:"}


escape = slack_escape  # the one escaping function (bot.slack.safe), under its old name here


def section(text: str) -> Block:
    """One mrkdwn section block."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def context(text: str) -> Block:
    """One small grey context line."""
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def chunks(text: str, limit: int = SECTION_CHARS) -> list[str]:
    """Split text at line ends into pieces of at most `limit` characters (a longer line is its own piece)."""
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for line in text.splitlines():
        if current and size + len(line) + 1 > limit:
            pieces.append("\n".join(current))
            current, size = [], 0
        current.append(line[: limit - 1] + "…" if len(line) > limit else line)
        size += len(line) + 1
    if current:
        pieces.append("\n".join(current))
    return pieces


def fallback(text: str, limit: int = FALLBACK_CHARS) -> str:
    """The text for notifications and old clients: whole lines only, with a count of what is left out."""
    pieces = chunks(text, limit - 40)
    if len(pieces) <= 1:
        return pieces[0] if pieces else ""
    rest = sum(len(piece.splitlines()) for piece in pieces[1:])
    return f"{pieces[0]}\n… and {rest} more lines"


def text_blocks(text: str, *, code: bool, limit: int = MAX_BLOCKS, people: People = NOBODY) -> list[Block]:
    """Text as sections (code blocks keep table columns), summarized past `limit` blocks.

    `people`: how to show the people granja's text names (nobody is pinged inside code blocks).
    """
    pieces = chunks(say(text, people.inert() if code else people))
    shown = pieces[:limit]
    blocks = [section(f"```{no_backticks(piece)}```" if code else piece) for piece in shown]
    if len(pieces) > len(shown):
        rest = sum(len(piece.splitlines()) for piece in pieces[len(shown):])
        blocks.append(context(f"… and {rest} more lines; narrow the question down "
                              "(e.g. 'list on HOST' or 'list in CLUSTER')."))
    return blocks


def reply_message(reply: Reply, *, people: People = NOBODY) -> tuple[str, list[Block]]:
    """A reply as (fallback text, blocks), naming people as `people` says.

    Only a text reply (an answer to one person) pings anyone: `people.live`; tables and lists name
    everyone inertly.
    """
    if isinstance(reply.body, Text):
        blocks = text_message(reply, people)
    else:
        people = people.inert()
        blocks = _blocks(reply.body, reply, people)
    return fallback(say(render(reply), people)), blocks


def named(reply: Reply) -> set[str]:
    """The Slack user IDs a reply names (audit rows, history, `<@U…>` or "by U…" in its text).

    Looked up (bot.slack.user_names) before the reply is rendered, to show them by name. A VM
    table (20,000 rows at most) names nobody, and is not rendered twice to find that out.
    """
    body = reply.body
    if isinstance(body, VMTable):
        return set()
    found = mentioned(render(reply))
    if isinstance(body, AuditTable):
        found |= {user for row in body.rows for user in (row.user, *mentioned(row.detail[:200]))}
    elif isinstance(body, HistoryView):
        found |= {change.user for change in body.changes if change.user}
    return {uid for user in found if (uid := user_id(user))}


def text_message(reply: Reply, people: People) -> list[Block]:
    """A one-text reply (an answer, a refusal, a busy VM) with its outcome's icon."""
    assert isinstance(reply.body, Text)
    icon = "" if reply.outcome is Outcome.OK else _ICON[reply.outcome] + " "
    return text_blocks(icon + reply.body.text, code=False, people=people)


@singledispatch
def _blocks(body: object, reply: Reply, people: People) -> list[Block]:
    return text_blocks(render(reply), code=True, people=people)  # tables, bodies without a card of their own


@_blocks.register
def _(body: Located, reply: Reply, people: People) -> list[Block]:
    return text_blocks(render(reply), code=False, people=people)


@_blocks.register
def _(body: Done, reply: Reply, people: People) -> list[Block]:
    notes = [context(say(note, people)) for note in body.notes]
    return [section(f"{_ICON[reply.outcome]} {say(body.summary, people)}"), *notes]


@_blocks.register
def _(body: VMCard, reply: Reply, people: People) -> list[Block]:
    vm = body.vm
    fields = [("Host", vm.host), ("State", vm.state.value), ("vCPUs", str(vm.vcpus)),
              ("Memory", gib(vm.memory_mib)), ("Virtualization", f"{vm.virt.value.upper()} ({vm.os_type})"),
              ("Cluster", vm.meta.cluster or "-"), ("Autostart", "on" if vm.autostart else "off"),
              ("On crash", vm.on_crash)]
    if vm.usage and vm.usage.addresses:
        fields.append(("Addresses", ", ".join(vm.usage.addresses)))
    if used := usage_text(vm.usage, vm.memory_mib):
        fields.append(("In use", used))
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": vm.name[:150]}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f"*{k}*\n{escape(v)}"} for k, v in fields]},
    ]
    if body.stale_since:
        blocks.append(section(f":warning: Stale since {when(body.stale_since)}: {escape(vm.host)} is not "
                              "answering; this is the last known configuration."))
    disks = [f"`{no_backticks(d.target)}` {d.text}"
             + (f" ({size_text(d.size_bytes)})" if d.size_bytes else "") for d in vm.disks]
    nics = [f"`{no_backticks(n.mac)}` {n.bridge}" + (f", VLAN {n.vlan}" if n.vlan is not None else "")
            + (f" ({n.network})" if n.network else "") + (f", {n.trunk}" if n.trunk else "")
            + (f" via {n.bond}" if n.bond else "")
            for n in body.nics]
    blocks += text_blocks("*Disks*\n" + ("\n".join(disks) or "none"), code=False)
    blocks += text_blocks("*NICs*\n" + ("\n".join(nics) or "none"), code=False)
    blocks.append(context(f"uuid {escape(vm.uuid)} · last seen {when(body.last_seen)}"))
    return blocks[: MAX_BLOCKS + 2]


@_blocks.register
def _(body: AuditTable, reply: Reply, people: People) -> list[Block]:
    notes = [context(escape(f"Not shown: {problem}."[:SECTION_CHARS])) for problem in body.skipped[:2]]
    if not body.rows:
        return [section(f"{say(body.title, people)}: none yet."), *notes]
    lines = [f"*{say(body.title, people)}*"]
    for row in body.rows:
        lines.append(f"• {row.at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC {person(row.user, people)} "
                     f"{slack_code(row.text)} "
                     f"*{row.outcome}* ({row.duration_ms / 1000:.1f} s) {say(row.detail[:200], people)}")
    return [*[section(piece) for piece in chunks("\n".join(lines))][:MAX_BLOCKS], *notes]


def _list_blocks(head: str, lines: list[str], *, icon: str = "") -> list[Block]:
    """A bold heading and mrkdwn lines, split at line ends, summarized past the block limit."""
    pieces = chunks("\n".join([f"{icon}*{escape(head)}*", *lines]))
    blocks = [section(piece) for piece in pieces[:MAX_BLOCKS]]
    if len(pieces) > MAX_BLOCKS:
        rest = sum(len(piece.splitlines()) for piece in pieces[MAX_BLOCKS:])
        blocks.append(context(f"… and {rest} more lines."))
    return blocks


@_blocks.register
def _(body: HostEmptied, reply: Reply, people: People) -> list[Block]:
    icon = _ICON[reply.outcome] + " "
    lines = [f"• {body.verb} {slack_code(vm)} → {escape(host)}"
             + (f" ({method})" if method != "restart" else "") for vm, host, method in body.moved]
    if body.failed:
        lines.append(f"• *FAILED* {slack_code(body.failed[0])}: {escape(body.failed[1])}")
    if body.not_tried:
        lines.append(f"• not tried: {escape(', '.join(body.not_tried))} (still on {escape(body.host)})")
    lines += [f"• stays {slack_code(vm)}: {escape(why)}" for vm, why in body.stays]
    lines += [f"_{escape(note)}_" for note in body.notes]
    return _list_blocks(body.title, lines, icon=icon)


@_blocks.register
def _(body: RollingRun, reply: Reply, people: People) -> list[Block]:
    lines = [f"• `{escape(vm)}`: {escape(what)}" for vm, what in body.done]
    if body.failed:
        lines.append(f"• *FAILED* `{escape(body.failed[0])}`: {escape(body.failed[1])}")
    if body.not_tried:
        lines.append(f"• not tried: {escape(', '.join(body.not_tried))}")
    lines += [f"• left `{escape(vm)}` ({escape(state)})" for vm, state in body.left]
    return _list_blocks(body.title, lines, icon=_ICON[reply.outcome] + " ")


@_blocks.register
def _(body: FindingList, reply: Reply, people: People) -> list[Block]:
    if not body.findings:
        return [section("Nothing needs attention.")]
    count = "1 thing needs" if len(body.findings) == 1 else f"{len(body.findings)} things need"
    lines = [f"• {escape(f.severity)} *{escape(f.kind)}* "
             + say(f.message, people) for f in body.findings]
    return _list_blocks(f"{count} attention", lines)


@_blocks.register
def _(body: HistoryView, reply: Reply, people: People) -> list[Block]:
    if not body.changes:
        return [section(f"No changes of {escape(body.vm)} recorded.")]
    lines = [f"• {c.at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC {person(c.user, people) if c.user else '-'} "
             f"{slack_code(c.command or '-')} {escape(change_what(c))}" for c in body.changes]
    return _list_blocks(f"Changes of {body.vm}, newest first", lines)
