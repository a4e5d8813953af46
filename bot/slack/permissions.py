"""Which Slack user groups a person is in, read with usergroups.list and kept for a few minutes."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger("granja.slack")


class GroupDirectory:
    """User ID -> the user-group IDs they belong to; asked of Slack only when the config names groups."""

    def __init__(self, client: Any, *, enabled: bool, ttl: float = 300.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.enabled = enabled
        self.ttl = ttl
        self._clock = clock
        self._members: dict[str, list[str]] = {}
        self._read_at: float | None = None
        self._lock = threading.Lock()

    def of(self, user: str) -> list[str]:
        """The groups a user is in ([] if groups are not used, or Slack could not be asked)."""
        if not self.enabled:
            return []
        with self._lock:
            if self._read_at is None or self._clock() - self._read_at > self.ttl:
                self._members = self._read()
                self._read_at = self._clock()
            return self._members.get(user, [])

    def _read(self) -> dict[str, list[str]]:
        try:
            groups = self.client.usergroups_list(include_users=True)["usergroups"]
        except Exception:  # no group rights is the safe side: users keep only their own role
            log.exception("could not read Slack user groups; roles from groups are not applied")
            return self._members
        members: dict[str, list[str]] = {}
        for group in groups:
            for user in group.get("users", []):
                members.setdefault(str(user), []).append(str(group["id"]))
        return members
