"""A token bucket: at most ``rate`` sends per second on average, bursts of up to ``burst``."""

from __future__ import annotations

import asyncio
import time


class TokenBucket:
    """``await acquire()`` returns when a token is available. A rate of 0 means no limit."""

    def __init__(self, rate_per_s: float, burst: int = 1) -> None:
        self.rate = rate_per_s
        self.capacity = float(max(1, burst))
        self.tokens = self.capacity
        self.updated = time.monotonic()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        if self.rate <= 0:
            return
        async with self._lock:  # waiters queue in order instead of all waking at once
            while True:
                now = time.monotonic()
                self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
                self.updated = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                await asyncio.sleep((1 - self.tokens) / self.rate)
