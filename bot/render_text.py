"""Replies as plain text, for the console and as Slack's fallback text.

The bodies of the quickest questions (a sentence, where a VM is) are written here; every other
body (cards, tables, help) is written by bot/render_bodies.py, imported when one is shown.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.reply import Located, Reply, Text
from inventory.twice_words import running_twice_message


def render(reply: Reply, *, width: int = 100) -> str:
    """The whole reply as text; `width` is the terminal's, for what wraps (help)."""
    body = reply.body
    if isinstance(body, Text):
        return body.text
    if isinstance(body, Located):
        return _located(body)
    from bot.render_bodies import body_text  # cards and tables: a quick question never loads them

    return body_text(body, width=width)


def when(moment: datetime | None, now: datetime | None = None) -> str:
    """A time as 'YYYY-MM-DD HH:MM UTC (N min ago)'."""
    if moment is None:
        return "never"
    now = now or datetime.now(UTC)
    minutes = int((now - moment).total_seconds() // 60)
    ago = "just now" if minutes < 1 else f"{minutes} min ago" if minutes < 120 else f"{minutes // 60} h ago"
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC ({ago})"


def table(headers: list[str], rows: list[list[str]]) -> str:
    """Rows in aligned columns."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=False)).rstrip()
             for row in [headers, *rows]]
    return "\n".join(lines)


def _located(body: Located) -> str:
    vm = body.vm
    if not body.live:
        return (f"{vm.name} was last seen on {vm.host} ({vm.state.value}) at {when(body.last_seen)}. "
                f"{vm.host} is not answering now: {body.unreachable_reason}")
    text = f"{vm.name} is on {vm.host} ({vm.state.value})."
    if body.running:
        text = f"{running_twice_message(vm.name, (vm.host, *body.running))}."
    if body.corrected_from:
        text += f" The inventory had it on {body.corrected_from}; corrected."
    if inactive := [host for host in body.strays if host not in body.running]:
        text += f" A stray inactive definition of it is also on {', '.join(inactive)}."
    return text
