"""Changes waiting for a confirmation: each claimed at most once, until it expires.

Shared by every thread of a front end (Slack runs each click in a worker),
so every method takes the lock; a claim removes the entry, which is what
makes a second click on the same button do nothing.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
_SETTLED_KEPT = 2000  # how many finished ids are remembered, to answer late clicks precisely


class Waiting(Generic[T]):
    """Items waiting to be claimed, each expiring `ttl` seconds after it was added."""

    def __init__(self, *, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._items: dict[str, tuple[float, T]] = {}
        self._settled: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, key: str, item: T) -> None:
        """Keep an item until it is claimed or expires."""
        with self._lock:
            self._items[key] = (self._clock(), item)

    def claim(self, key: str, *, may: Callable[[T], bool]) -> tuple[T | None, str]:
        """Take an item: (item, "taken"), (item, "expired") or (item, "refused"), or (None, "gone").

        An expired item is removed; one that `may` refuses stays waiting, its expiry unchanged.
        """
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None, "gone"
            added, item = found
            if self._clock() - added > self.ttl:
                del self._items[key]
                return item, "expired"
            if not may(item):
                return item, "refused"
            del self._items[key]
            return item, "taken"

    def expired(self) -> list[T]:
        """Remove and return every item that has waited too long."""
        now = self._clock()
        with self._lock:
            keys = [k for k, (added, _) in self._items.items() if now - added > self.ttl]
            return [self._items.pop(k)[1] for k in keys]

    def settle(self, key: str, how: str) -> None:
        """Remember how a claimed item ended (a sentence for whoever clicks it later)."""
        with self._lock:
            self._items.pop(key, None)
            self._settled[key] = how
            while len(self._settled) > _SETTLED_KEPT:
                self._settled.popitem(last=False)

    def how_settled(self, key: str) -> str:
        """How an item ended, or '' if it is unknown (never existed, or long forgotten)."""
        with self._lock:
            return self._settled.get(key, "")
