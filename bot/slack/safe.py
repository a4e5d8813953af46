"""The one way untrusted text leaves for Slack: no mention, no special mention, no link, no code break-out.

Everything that a person typed or a hypervisor reported (VM names from XML,
error messages, audit text) passes through `slack_escape` before it is put in
a message, in blocks and in the top-level `text` alike; granja's own markup
(a requester's `<@U…>`, a `<!date^…>`) is added around the escaped text, never
inside it. What it does:

- `&`, `<`, `>` become entities, so `<!channel>`, `<!here>`, `<@U…>`,
  `<#C…>`, `<!subteam^…>` and `<https://evil|click>` show as typed and do
  nothing;
- a bare URL scheme (`https://`, `mailto:`), `www.` and a plain
  `@channel`/`@here`/`@everyone` get an invisible word joiner, so Slack
  turns none of them into a link or a ping;
- control and bidirectional-override characters become `�` (a message
  cannot rewrite itself on screen or hide text);
- `slack_code` and `slack_code_block` also replace backticks, so text
  inside a code span or block cannot close it.

Alerts (hypervisor events, watchers) build their messages with
`slack_format(template, **values)`: the template is granja's own markup, every
value is made inert. `slack_escape(text, keep=(mention,))` leaves exact
trusted tokens (a mention granja made itself) intact inside a mixed string.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

JOINER = "\u2060"  # WORD JOINER: invisible, and breaks Slack's link detection
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_AUTOLINK = re.compile(r"(?i)\b([a-z][a-z0-9+.-]{1,20}:)(//)|\b(mailto|tel|sms|slack):|\b(www)\.|"
                       r"(@)(channel|here|everyone)\b")
_BACKTICK = "\u02cb"  # MODIFIER LETTER GRAVE ACCENT: looks like ` and closes nothing


def slack_escape(text: str, *, keep: Iterable[str] = ()) -> str:
    """Untrusted text made inert for Slack mrkdwn and plain `text`: no mention, link or control character.

    `keep` lists exact trusted tokens (e.g. the requester's `<@U…>` that granja wrote itself)
    to leave as they are where they occur.
    """
    kept = [token for token in dict.fromkeys(keep) if token]
    if not kept:
        return _inert(text)
    pattern = re.compile("|".join(re.escape(token) for token in kept))
    out: list[str] = []
    start = 0
    for match in pattern.finditer(text):
        out += [_inert(text[start:match.start()]), match.group(0)]
        start = match.end()
    return "".join([*out, _inert(text[start:])])


def _inert(text: str) -> str:
    text = _CONTROL.sub("\ufffd", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _AUTOLINK.sub(_unlinked, text)


def _unlinked(match: re.Match[str]) -> str:
    if match.group(1):
        return f"{match.group(1)}{JOINER}{match.group(2)}"
    if match.group(3):
        return f"{match.group(3)}{JOINER}:"
    if match.group(4):
        return f"{match.group(4)}{JOINER}."
    return f"@{JOINER}{match.group(6)}"  # plain @channel is no ping today; kept so if link_names is ever on


def slack_format(template: str, **untrusted: object) -> str:
    """Fill granja's own mrkdwn `template`: `{name}` fields get untrusted values, each made inert.

    The hook for alerts and any new message: `slack_format(":rotating_light: *{vm}* crashed on {host}",
    vm=name, host=host)`; a value in a code span is written `` `{vm}` `` and is kept from closing it.
    """
    return template.format(**{key: no_backticks(slack_escape(str(value)))
                              for key, value in untrusted.items()})


def no_backticks(text: str) -> str:
    """Already-escaped text with its backticks made harmless, to sit inside a code span or block."""
    return text.replace("`", _BACKTICK)


def slack_code(text: str) -> str:
    """Untrusted text as an inline code span that its own backticks cannot close."""
    return f"`{no_backticks(slack_escape(text)) or ' '}`"


def slack_code_block(text: str) -> str:
    """Untrusted text (a table, several lines) as a code block that its backticks cannot close."""
    return f"```{no_backticks(slack_escape(text))}```"
