"""The messages of a change in Slack: the preview with its buttons, the decision, and the final audit line.

They answer the requester's own request: the requester and the confirmer are
mentioned live (pinging them is the point); anyone else they name is named,
not pinged (`bot.slack.people`). The final message must stand alone for an
auditor reading channel history:
who asked (a mention, which Slack keeps right when names change), what, on
which VM and hosts, when (Slack's date markup, with a UTC fallback), how
long it took and how it ended.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.engine import Pending
from bot.results import Outcome, Reply, Text
from bot.slack.blocks import MAX_BLOCKS, Block, context, reply_message, section, text_blocks
from bot.slack.people import NOBODY, People, person, say
from bot.slack.safe import slack_code, slack_escape

CONFIRM = "granja_confirm"
CANCEL = "granja_cancel"


def slack_date(moment: datetime) -> str:
    """A time in Slack's date markup: each reader sees it in their own time zone; UTC as the fallback."""
    fallback = f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} at {{time_secs}}|{fallback}>"


def preview(pending: Pending, *, expires: datetime) -> tuple[str, list[Block]]:
    """What will happen, who may confirm it, until when, and the Confirm/Cancel buttons."""
    who = person(pending.event.user, NOBODY.pinging(pending.event.user))
    text = f"{who} asked to {slack_escape(pending.plan.preview)}. Confirm or cancel."
    confirm: Block = {"type": "button", "action_id": CONFIRM, "value": pending.id,
                      "text": {"type": "plain_text", "text": "Confirm"},
                      "style": "danger" if pending.plan.destructive else "primary"}
    if pending.plan.destructive:
        confirm["confirm"] = {"title": {"type": "plain_text", "text": "Are you sure?"},
                              "text": {"type": "plain_text", "text": _dialog(pending.plan.preview)},
                              "confirm": {"type": "plain_text", "text": "Yes, do it"},
                              "deny": {"type": "plain_text", "text": "No"}}
    cancel: Block = {"type": "button", "action_id": CANCEL, "value": pending.id,
                     "text": {"type": "plain_text", "text": "Cancel"}}
    blocks = [*_asked(pending, icon=":question: "),
              context(f"Only {who} or an admin can confirm. Expires {slack_date(expires)}; "
                      "nothing happens until then."),
              {"type": "actions", "block_id": f"granja_{pending.id}", "elements": [confirm, cancel]}]
    return text, blocks


def _asked(pending: Pending, *, icon: str = "") -> list[Block]:
    """Who asked for what: the preview's first line in bold, the rest (an evacuation's moves) as lines.

    mrkdwn bold does not span lines, and a host's moves can pass a section's 3,000 characters.
    """
    first, _, rest = pending.plan.preview.partition("\n")
    asker = person(pending.event.user, NOBODY.pinging(pending.event.user))
    head = section(f"{icon}{asker} asked to *{slack_escape(first)}*")
    return [head, *(text_blocks(rest, code=False, limit=MAX_BLOCKS - 4) if rest else [])]


def _dialog(preview: str) -> str:
    """The 'Are you sure?' text: the preview's first line, cut at a word to Slack's 300 characters."""
    first = preview.partition("\n")[0]
    return first if len(first) <= 300 else first[:298].rsplit(" ", 1)[0] + " …"


def decided(pending: Pending, *, by: str, confirmed: bool) -> tuple[str, list[Block]]:
    """The preview once decided: the buttons are gone, and it says who decided."""
    verb = "Confirmed" if confirmed else "Cancelled"
    people = NOBODY.pinging(pending.event.user, by)
    asker, decider = person(pending.event.user, people), person(by, people)
    text = f"{asker} asked to {slack_escape(pending.plan.preview)}. {verb} by {decider}."
    return text, [*_asked(pending),
                  context(f"{verb} by {decider}" + (": running, progress below." if confirmed else "."))]


def final(pending: Pending, reply: Reply, *, by: str, begun: datetime, seconds: float,
          people: People = NOBODY) -> tuple[str, list[Block]]:
    """The result of a decided change, readable on its own: who, what, where, when, how long, outcome.

    `people`: the names of those the result names; the requester and `by` are mentioned live.
    """
    people = people.pinging(pending.event.user, by)
    verb = "cancelled" if reply.outcome is Outcome.CANCELLED else "confirmed"
    decider = f" ({verb} by {person(by, people)})" if by != pending.event.user else ""
    where = _where(pending, reply)
    line = (f"{reply.outcome.value.upper()}: {person(pending.event.user, people)} asked for "
            f"{slack_code(pending.command.canonical())}{decider} · {slack_escape(where)} · "
            f"{slack_date(begun)} · took {seconds:.1f} s")
    _, body = reply_message(reply, people=people)
    text = f"{line}\n{say(reply.summary, people if isinstance(reply.body, Text) else people.inert())}"
    return text, [section(line), *body]


def _where(pending: Pending, reply: Reply) -> str:
    """The VM and its hosts (from → to); a command on a host names it, then where its VMs went."""
    hosts = reply.hosts or pending.plan.hosts
    if pending.plan.vm:
        return f"VM {pending.plan.vm}" + (f" · hosts {' → '.join(hosts)}" if hosts else "")
    return f"host {hosts[0]}" + (f" → {', '.join(hosts[1:])}" if hosts[1:] else "") if hosts else ""
