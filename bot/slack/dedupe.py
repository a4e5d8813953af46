"""Event IDs already handled, for a while: Slack redelivers events it thinks were lost; none may run twice."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable


class SeenIds:
    """A bounded set of IDs that forgets each one `ttl` seconds after it was first seen."""

    def __init__(self, *, ttl: float = 3600.0, size: int = 50_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        # Slack retries three times within about five minutes; an hour leaves a wide margin.
        self.ttl = ttl
        self.size = size
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def first_time(self, key: str) -> bool:
        """Record the ID; True only the first time it is seen (within the TTL)."""
        now = self._clock()
        with self._lock:
            while self._seen and (len(self._seen) >= self.size
                                  or now - next(iter(self._seen.values())) > self.ttl):
                self._seen.popitem(last=False)
            if key in self._seen:
                return False
            self._seen[key] = now
            return True
