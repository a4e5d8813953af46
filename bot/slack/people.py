"""How a person is shown in Slack: by display name, inert; a live mention only where pinging is the point.

A mention (`<@U…>`) in a message's text or blocks notifies that person. granja
names people in many informational places (the audit, `check` findings, who
acknowledged an alert, who holds a busy VM, who asked, in a refusal told to
someone else); there they are shown as `@name`, plain text that pings nobody.
Only the requester and the confirmer, in the replies to their own request, are
mentioned live. `person` is the one function that renders a person for Slack;
`say` fills the people into text granja wrote (the engine names a Slack user as
`<@U…>`; a maintenance mark, a baseline or the audit's title say "by U…") and
makes the rest of it inert, once, at the edge.

Names come from Slack (users.info, see `bot.slack.user_names`), looked up
before rendering and passed in as `People`: rendering stays pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.slack.safe import slack_escape

SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")  # a Slack user ID, as Slack signs it
MENTION = re.compile(r"<@([UW][A-Z0-9]{2,})>")  # a Slack user as the engine and the audit write them
# Where granja's text names a Slack user: `<@U…>`, or "by U…" (a mark's, a baseline's, an audit's).
_NAMED = re.compile(r"<@([UW][A-Z0-9]{2,})>|(?<=\bby )([UW][A-Z0-9]{2,})\b")


@dataclass(frozen=True)
class People:
    """The display names of the people a message names (by user ID), and who of them is pinged."""

    names: Mapping[str, str] = field(default_factory=dict)
    live: frozenset[str] = frozenset()  # the requester and the confirmer, in replies to their own request

    def inert(self) -> People:
        """The same names with nobody pinged (for tables, lists, anything not a reply to one person)."""
        return People(self.names)

    def pinging(self, *users: str) -> People:
        """The same names, with `users` (the requester, the confirmer) mentioned live too."""
        return People(self.names, self.live | {uid for user in users if (uid := user_id(user))})


NOBODY = People()  # no names known, nobody pinged: Slack users shown by their raw IDs, inert


def user_id(user: str) -> str | None:
    """The Slack user ID in `user` (`U…` or `<@U…>`), or None if it is not a Slack user (a console login)."""
    if SLACK_USER.match(user):
        return user
    found = MENTION.fullmatch(user)
    return found.group(1) if found else None


def mentioned(text: str) -> set[str]:
    """The Slack user IDs text granja wrote names (as `<@U…>` or "by U…"), to look up their names."""
    return {match.group(1) or match.group(2) for match in _NAMED.finditer(text)}


def person(user: str, people: People = NOBODY) -> str:
    """A user as a Slack message shows them: a live mention only for `people.live`; else `@name`, inert.

    Without a known name (Slack could not say) the raw ID is shown, inert; a console login is its name.
    """
    uid = user_id(user)
    if uid is None:
        return slack_escape(user)
    if uid in people.live:
        return f"<@{uid}>"
    return slack_escape("@" + people.names.get(uid, uid))


def say(text: str, people: People = NOBODY) -> str:
    """Text granja wrote, made inert for Slack, each person it names (`<@U…>`, "by U…") shown by `person`."""
    out: list[str] = []
    start = 0
    for match in _NAMED.finditer(text):
        out += [slack_escape(text[start:match.start()]), person(match.group(1) or match.group(2), people)]
        start = match.end()
    return "".join([*out, slack_escape(text[start:])])

