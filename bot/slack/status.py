"""One status message in the thread of a running change, updated with chat.update at most every few seconds.

Progress arrives from the operation's own thread as often as it likes; a
ticker thread publishes the latest line with the time elapsed, so Slack sees
at most one update per interval whatever the operation reports (chat.update
is rate limited), and a silent operation still shows it is alive.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from bot.slack.safe import slack_escape
from hypervisor.threads import signals_left_to_main

log = logging.getLogger("granja.slack")


class StatusMessage:
    """The status of one running change, shown in one Slack message."""

    def __init__(self, client: Any, *, channel: str, thread_ts: str, title: str,
                 interval: float = 2.0) -> None:
        self.client = client
        self.channel = channel
        self.thread_ts = thread_ts
        self.title = title
        self.interval = interval
        self.ts = ""
        self.updates = 0
        self._latest = "starting"
        self._shown = ""
        self._begun = time.monotonic()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._ticker = threading.Thread(target=self._tick, name="slack-status", daemon=True)

    def start(self) -> None:
        """Post the status message and start updating it."""
        self._begun = time.monotonic()
        text = self._text()
        try:
            self.ts = self.client.chat_postMessage(channel=self.channel, thread_ts=self.thread_ts,
                                                   text=text)["ts"]
            self._shown = text
        except Exception:  # progress is a courtesy: the change runs and its result is posted anyway
            log.exception("could not post the status message for %r", self.title)
            return
        with signals_left_to_main():
            self._ticker.start()

    def progress(self, line: str) -> None:
        """Note what the operation is doing now; shown at the next tick."""
        with self._lock:
            self._latest = line

    def finish(self, line: str) -> None:
        """Stop the ticker and show how it ended."""
        self._stop.set()
        if self._ticker.is_alive():
            self._ticker.join()
        if self.ts:
            self._update(f"{slack_escape(line)} ({self._elapsed()})")

    def _tick(self) -> None:
        while not self._stop.wait(self.interval):
            text = self._text()
            if text != self._shown:
                self._update(text)

    def _text(self) -> str:
        with self._lock:
            latest = self._latest
        title, line = slack_escape(self.title), slack_escape(latest)
        return f":hourglass_flowing_sand: {title}: {line}… ({self._elapsed()})"

    def _elapsed(self) -> str:
        return f"{time.monotonic() - self._begun:.0f} s"

    def _update(self, text: str) -> None:
        try:
            self.client.chat_update(channel=self.channel, ts=self.ts, text=text)
            self._shown = text
            self.updates += 1
        except Exception:
            log.exception("could not update the status message for %r", self.title)
