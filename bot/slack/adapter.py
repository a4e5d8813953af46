"""Slack request bodies to ChatEvents: who (Slack user ID), what (text without Slack's markup), where.

Slack rewrites what people type: mentions become `<@U…>`, host names and
addresses become links (`<http://ldap3.example.org|ldap3.example.org>`,
`<mailto:a@b|a@b>`), and `&`, `<`, `>` arrive as entities. The parser
should see what the person typed, so all of that is undone here; smart
quotes and dashes are the parser's own business (`bot.parser.normalize`).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.engine import ChatEvent

_MARKUP = re.compile(r"<([^<>]*)>")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_LEADING_MENTION = re.compile(r"^\s*<@[A-Z0-9]+(?:\|[^>]*)?>[\s,:]*")


@dataclass(frozen=True)
class Where:
    """Where a reply goes: the channel, the thread (its first message's ts), a slash command's reply URL."""

    channel: str
    thread_ts: str = ""
    response_url: str = ""  # the way to answer a slash command in a channel the bot is not in


def plain_text(text: str, *, bot_user: str = "") -> str:
    """Text as the person typed it: the bot's mention dropped, links to their labels, entities undone."""
    if bot_user:
        text = text.replace(f"<@{bot_user}>", " ")
    text = _LEADING_MENTION.sub("", text)
    return html.unescape(_MARKUP.sub(_unlink, text)).strip()


def _unlink(match: re.Match[str]) -> str:
    inside = match.group(1)
    target, _, label = inside.partition("|")
    if target.startswith(("#", "@", "!")):  # channels, people, groups, @here: as Slack shows them
        prefix = "#" if target.startswith("#") else "@"
        name = label or target.lstrip("#@!")
        return name if name.startswith(prefix) else prefix + name
    if target.startswith("mailto:"):
        return label or target[len("mailto:"):]
    return label or target


def from_a_bot(event: Mapping[str, Any], *, bot_user: str) -> bool:
    """Whether a message came from a bot (granja itself or another): those are never commands."""
    return bool(event.get("bot_id") or event.get("bot_profile") or event.get("subtype") == "bot_message"
                or (bot_user and event.get("user") == bot_user))


def event_from_message(event: Mapping[str, Any], *, team: str, bot_user: str, via: str,
                       groups: Iterable[str] = (), event_id: str = "",
                       kind_of: Callable[[str], str] | None = None) -> tuple[ChatEvent, Where]:
    """A mention or a direct message as a ChatEvent, and the thread its replies go to.

    `kind_of` says what kind a channel is when the event does not (an app_mention never does).
    """
    user, channel = str(event.get("user", "")), str(event.get("channel", ""))
    thread = str(event.get("thread_ts") or event.get("ts") or "")
    kind = str(event.get("channel_type") or "") or (kind_of(channel) if kind_of is not None else "")
    kind = "im" if kind == "im" or (not kind and channel.startswith("D")) else kind
    kind = "private" if kind in ("group", "mpim") or (not kind and channel.startswith("G")) else kind
    extra = _extra(user=user, channel=channel, thread=thread, team=team, via=via, groups=groups,
                   channel_type=kind if kind in ("im", "private") else "")
    if event_id:
        extra["event_id"] = event_id
    if event.get("ts"):
        extra["message_ts"] = str(event["ts"])
    text = plain_text(str(event.get("text", "")), bot_user=bot_user)
    return ChatEvent(user=user, text=text, channel=channel, extra=extra), Where(channel, thread)


def event_from_command(body: Mapping[str, Any], *, groups: Iterable[str] = ()) -> tuple[ChatEvent, Where]:
    """A `/granja …` slash command as a ChatEvent; its replies start a new thread in the channel."""
    user, channel = str(body.get("user_id", "")), str(body.get("channel_id", ""))
    direct = body.get("channel_name") == "directmessage" or channel.startswith("D")
    private = body.get("channel_name") in ("privategroup", "mpdm") or channel.startswith("G")
    kind = "im" if direct else "private" if private else ""
    extra = _extra(user=user, channel=channel, thread="", team=str(body.get("team_id", "")),
                   via="command", groups=groups, channel_type=kind)
    text = plain_text(str(body.get("text", "")))
    where = Where(channel, response_url=str(body.get("response_url", "")))
    return ChatEvent(user=user, text=text, channel=channel, extra=extra), where


def event_from_click(body: Mapping[str, Any], *, groups: Iterable[str] = (),
                     kind_of: Callable[[str], str] | None = None) -> ChatEvent:
    """Who clicked a button, and where, as a ChatEvent (the text says which button).

    `kind_of` says what kind the channel is (a click does not say).
    """
    user = str(body.get("user", {}).get("id", ""))
    channel = str(body.get("channel", {}).get("id", ""))
    action = (body.get("actions") or [{}])[0]
    kind = "im" if channel.startswith("D") else kind_of(channel) if kind_of is not None else ""
    extra = _extra(user=user, channel=channel, thread=str(body.get("message", {}).get("thread_ts", "")),
                   team=str(body.get("team", {}).get("id", "")), via="button", groups=groups,
                   channel_type=kind if kind in ("im", "private") else "")
    return ChatEvent(user=user, text=f"[{action.get('action_id', '')}]", channel=channel, extra=extra)


def _extra(*, user: str, channel: str, thread: str, team: str, via: str, groups: Iterable[str],
           channel_type: str) -> dict[str, str]:
    # `who` marks a Slack user as `<@U…>` (only an ID shaped as Slack's) in what the engine writes;
    # where it leaves for Slack it is shown by name or, to the requester and confirmer, as a mention
    # (bot.slack.people). Anything else is shown as text, escaped where it leaves.
    extra = {"slack_user": user, "slack_channel": channel, "team": team, "via": via,
             "who": f"<@{user}>" if _USER_ID.match(user) else user}
    if thread:
        extra["thread_ts"] = thread
    if channel_type:
        extra["channel_type"] = channel_type
    group_list = ",".join(sorted(groups))
    if group_list:
        extra["groups"] = group_list
    return extra
