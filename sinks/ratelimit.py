"""A token bucket: at most ``rate`` sends per second on average, bursts of up to ``burst``."""

from __future__ import annotations

import asyncio
import contextlib
import time


class TokenBucket:
    """``await acquire()`` returns when a token is available. A rate of 0 means no limit. A new rate
    (a workspace policy's) applies at once, to the waiters too."""

    def __init__(self, rate_per_s: float, burst: int = 1) -> None:
        self._rate = rate_per_s
        self.capacity = float(max(1, burst))
        self.tokens = self.capacity
        self.updated = time.monotonic()
        self._lock = asyncio.Lock()
        self._rate_changed = asyncio.Event()

    @property
    def rate(self) -> float:
        return self._rate

    @rate.setter
    def rate(self, value: float) -> None:
        now = time.monotonic()
        if self._rate > 0:  # tokens earned so far count at the old rate
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self._rate)
        self.updated = now
        self._rate = value
        self._rate_changed.set()

    async def acquire(self) -> None:
        if self._rate <= 0:
            return
        async with self._lock:  # waiters queue in order instead of all waking at once
            while self._rate > 0:
                now = time.monotonic()
                self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self._rate)
                self.updated = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                self._rate_changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._rate_changed.wait(), (1 - self.tokens) / self._rate)
