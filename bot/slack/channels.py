"""What kind of place a Slack channel is (direct message, private, public), asked when an event does not say.

An `app_mention` event and a button click carry no channel type, and private channels' IDs start
with `C` like public ones. The kind decides who may later read the audit entries written there,
so it is asked of Slack (conversations.info) and kept for an hour; when Slack cannot be asked,
the channel counts as private: an entry hidden from some is better than one shown to all.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger("granja.slack")
KEEP_SECONDS = 3600.0  # a channel made private (or public) is seen as such within the hour
RETRY_SECONDS = 60.0  # after Slack could not be asked


class ChannelKinds:
    """Channel ID -> "im", "private" or "" (public), from conversations.info, cached."""

    def __init__(self, client: Any, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self._clock = clock
        self._known: dict[str, tuple[str, float]] = {}  # channel -> (kind, until)
        self._lock = threading.Lock()

    def kind_of(self, channel: str) -> str:
        """The channel's kind; "private" if Slack could not say."""
        if channel.startswith("D"):
            return "im"
        now = self._clock()
        with self._lock:
            known = self._known.get(channel)
        if known is not None and known[1] > now:
            return known[0]
        try:
            info = self.client.conversations_info(channel=channel)["channel"]
            kind = "im" if info.get("is_im") else "private" if (
                info.get("is_private") or info.get("is_mpim") or info.get("is_group")) else ""
            until = now + KEEP_SECONDS
        except Exception as exc:  # noqa: BLE001 - any failure: the safe side, said once per channel
            if known is None:
                log.warning("could not ask Slack what kind of channel %s is (%s); counted as private",
                            channel, exc)
            kind, until = "private", now + RETRY_SECONDS
        with self._lock:
            self._known[channel] = (kind, until)
        return kind
