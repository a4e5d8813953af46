"""People's display names, asked of Slack (users.info, scope `users:read`) and kept for an hour.

granja shows people it names in informational text by name, without pinging
them (see `bot.slack.people`). A name is asked of Slack once and kept for an
hour (a renamed person reads right within the hour), at most MAX_PEOPLE of
them, the least recently used forgotten first. When Slack cannot say (an
unknown user, a missing scope, Slack unreachable), the person is shown by
the raw ID, inert, and Slack is asked again a minute later.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

log = logging.getLogger("granja.slack")
KEEP_SECONDS = 3600.0  # a changed display name is shown within the hour
RETRY_SECONDS = 60.0  # after Slack could not name someone
MAX_PEOPLE = 10_000  # names kept at most (a workspace's active people, with room)


class UserNames:
    """Slack user ID -> display name, from users.info, cached with a deadline and a bound on size."""

    def __init__(self, client: Any, *, clock: Callable[[], float] = time.monotonic,
                 size: int = MAX_PEOPLE) -> None:
        self.client = client
        self._clock = clock
        self._size = size
        self._known: OrderedDict[str, tuple[str | None, float]] = OrderedDict()  # user -> (name, until)
        self._lock = threading.Lock()

    def names(self, users: Iterable[str]) -> dict[str, str]:
        """The display names of `users` that Slack could give (the others are left out)."""
        found = {user: self.name_of(user) for user in sorted(set(users))}
        return {user: name for user, name in found.items() if name}

    def name_of(self, user: str) -> str | None:
        """The user's display name, or None if Slack could not say (now or within the last minute)."""
        now = self._clock()
        with self._lock:
            known = self._known.get(user)
            if known is not None and known[1] > now:
                self._known.move_to_end(user)
                return known[0]
        name, until = self._ask(user), now + KEEP_SECONDS
        if name is None:
            until = now + RETRY_SECONDS
        with self._lock:
            self._known[user] = (name, until)
            self._known.move_to_end(user)
            while len(self._known) > self._size:
                self._known.popitem(last=False)
        return name

    def _ask(self, user: str) -> str | None:
        try:
            info = self.client.users_info(user=user)["user"]
        except Exception as exc:  # noqa: BLE001 - any failure: the raw ID is shown instead
            log.info("Slack did not name user %s (%s); shown by ID", user, exc)
            return None
        profile = info.get("profile") or {}
        for name in (profile.get("display_name"), profile.get("real_name"), info.get("real_name"),
                     info.get("name")):
            if name and str(name).strip():
                return str(name).strip()
        return None
