"""Previews whose time ran out lose their buttons: a sweeper cancels expired changes and says so in Slack."""

from __future__ import annotations

import logging
import threading
from typing import Any

from bot.engine import Engine
from bot.slack.blocks import Block, context
from hypervisor.threads import signals_left_to_main

log = logging.getLogger("granja.slack")


class PreviewSweeper:
    """Remembers where each preview was posted; every `interval` seconds expires the overdue ones."""

    def __init__(self, engine: Engine, client: Any, *, interval: float) -> None:
        self.engine = engine
        self.client = client
        self.interval = interval
        self._previews: dict[str, tuple[str, str, str, list[Block]]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="slack-expiry", daemon=True)

    def start(self) -> None:
        """Start sweeping in the background."""
        with signals_left_to_main():
            self._thread.start()

    def close(self) -> None:
        """Stop sweeping."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def remember(self, pending_id: str, *, channel: str, ts: str, text: str, blocks: list[Block]) -> None:
        """Note where a preview is, to update it if it expires."""
        with self._lock:
            self._previews[pending_id] = (channel, ts, text, blocks)

    def forget(self, pending_id: str) -> None:
        """The preview was decided by a click: nothing to sweep."""
        with self._lock:
            self._previews.pop(pending_id, None)

    def sweep(self) -> None:
        """Cancel (and audit) every overdue change, and take its preview's buttons away."""
        for pending in self.engine.expire():
            with self._lock:
                found = self._previews.pop(pending.id, None)
            if found is None:
                continue
            channel, ts, text, blocks = found
            kept = [b for b in blocks if b.get("type") != "actions"]
            note = f"Expired: not confirmed within {self.engine.expiry}; nothing was done."
            try:
                self.client.chat_update(channel=channel, ts=ts, text=f"{text} {note}",
                                        blocks=[*kept, context(note)])
            except Exception:
                log.exception("could not mark the expired preview %s in %s", ts, channel)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sweep()
            except Exception:  # the sweeper must outlive one bad sweep
                log.exception("the expiry sweep failed")
