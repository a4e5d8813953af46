"""What audit text may show, and to whom: secrets masked wherever it goes, private places kept private.

`redact_text` masks what the fleet config's `site.secrets` patterns match and, always, the
obvious secrets (Slack tokens `xoxb-…`/`xoxp-…`/`xapp-…`, `password=…`, `passwd=…`,
`token=…`); it is applied when an entry is stored (so logs, files and exports never hold the
secret) and again when one is shown (for entries written before a pattern was added).
`is_private` tells entries from a direct message or a private channel, which are shown only to
admins or in that same place, and never on the site.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Protocol

from inventory.records import AuditEntry

MASK = "REDACTED"
# A pattern with a group named `secret` masks only that group (the key before it stays readable).
BUILTIN_SECRETS: tuple[re.Pattern[str], ...] = (
    re.compile(r"\bx(?:ox[abposre]|app)-[A-Za-z0-9-]{6,}"),
    re.compile(r"(?i)\b(?:passw(?:or)?d|pwd|secret|token|api[_-]?key)\s*[=:]\s*(?P<secret>[^\s'\"]+)"),
)
PRIVATE_PLACES = ("im", "mpim", "private")  # channel_type values of direct messages and private channels
STRANGER_TEXT = 80  # characters of a stranger's message kept in the audit


class SecretPattern(Protocol):
    """A compiled pattern (the config's are RE2's, linear in the text) that can mask its matches."""

    def sub(self, replacement: str, text: str) -> str:
        """The text with every match replaced."""


def redact_text(text: str, patterns: Sequence[SecretPattern] = ()) -> str:
    """`text` with every match of the built-in secret patterns and of `patterns` masked."""
    for builtin in BUILTIN_SECRETS:
        text = builtin.sub(_masked, text)
    for pattern in patterns:
        text = pattern.sub(MASK, text)
    return text


def _masked(match: re.Match[str]) -> str:
    if "secret" not in match.re.groupindex or match.start("secret") < 0:
        return MASK
    start, end = match.start("secret") - match.start(), match.end("secret") - match.start()
    whole = match.group(0)
    return whole[:start] + MASK + whole[end:]


def redact_entry(entry: AuditEntry, patterns: Sequence[SecretPattern] = ()) -> AuditEntry:
    """The entry with its text, command, detail and extra values redacted."""
    return dataclasses.replace(
        entry, text=redact_text(entry.text, patterns), command=redact_text(entry.command, patterns),
        detail=redact_text(entry.detail, patterns),
        extra={key: redact_text(value, patterns) for key, value in entry.extra.items()})


def truncated(text: str, limit: int = STRANGER_TEXT) -> str:
    """At most `limit` characters, with an ellipsis when cut (what is kept of a stranger's message)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def is_private(entry: AuditEntry) -> bool:
    """Whether the entry came from a direct message or a private channel."""
    return entry.extra.get("channel_type", "") in PRIVATE_PLACES


def visible_to(entry: AuditEntry, *, role: str, channel: str) -> bool:
    """Whether a person with `role`, asking in `channel`, may see the entry."""
    return role == "admin" or not is_private(entry) or entry.channel == channel


def speaker(entry: AuditEntry) -> str:
    """Who spoke: the user, or `root as carol` when an admin's OS account acted as another user."""
    account = entry.extra.get("os_user", "")
    return f"{account} as {entry.user}" if account and account != entry.user else entry.user
