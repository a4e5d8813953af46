"""Who may do what, and where: roles for users and chat user groups, channel allow-lists, deny by default.

Users and groups are keyed by login name or chat ID (Slack user IDs `U…`,
user-group IDs `S…`), never by display names, which anyone can change. A
chat channel must be listed to be used at all, and its entry caps the role
usable there (a busy general channel can be read-only); `direct` stands for
direct messages. The local console is no chat channel: only the user's role
counts there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

ROLES = ("viewer", "operator", "admin")
CONSOLE = "console"
DIRECT = "direct"


@dataclass(frozen=True)
class Standing:
    """A person's effective role in one place, and why it is what it is, for refusals."""

    role: str  # "" when they may do nothing
    why: str


@dataclass(frozen=True)
class Access:
    """Roles of users and groups, and which channels the bot answers in."""

    users: Mapping[str, str] = field(default_factory=dict)  # login or chat user ID -> role
    groups: Mapping[str, str] = field(default_factory=dict)  # chat user-group ID -> role
    channels: Mapping[str, str] = field(default_factory=dict)  # channel ID or "direct" -> highest role
    confirm_seconds: float = 300.0

    def role_of(self, user: str, groups: Iterable[str] = ()) -> str | None:
        """The highest role the user has directly or through a group, or None."""
        roles = [self.users.get(user)] + [self.groups.get(group) for group in groups]
        known = [role for role in roles if role in ROLES]
        return max(known, key=ROLES.index) if known else None

    def standing(self, user: str, *, groups: Iterable[str] = (), channel: str = CONSOLE,
                 direct: bool = False) -> Standing:
        """The role a user may act with in a channel; unknown users and unlisted channels get none."""
        own = self.role_of(user, groups)
        if own is None:
            return Standing("", f"{user} has no role in this farm")
        if channel == CONSOLE:
            return Standing(own, f"your role is {own}")
        key = DIRECT if direct else channel
        cap = self.channels.get(key)
        if cap is None:
            where = "direct messages" if direct else f"channel {channel}"
            return Standing("", f"granja is not enabled in {where} (the fleet config has no "
                                f"[channels.{key}])")
        if ROLES.index(cap) < ROLES.index(own):
            where = "direct messages" if direct else "this channel"
            return Standing(cap, f"your role is {own}, but {where} allows at most {cap}")
        return Standing(own, f"your role is {own}")
