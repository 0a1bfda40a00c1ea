"""Notices the worker's event loop being blocked: everything the worker does (fetching, batches, timers,
the HTTP API) runs on that one loop, so a stall anywhere shows up as latency everywhere. A batch that is
slow says where its own time went (agents/processor.py); this catches stalls outside batches."""

from __future__ import annotations

import asyncio
import logging
import time

log = logging.getLogger("switchyard.loop")
TICK_S = 0.1
BLOCKED_S = 0.5  # a tick this late is logged


async def watch_loop(tick_s: float = TICK_S, blocked_s: float = BLOCKED_S) -> None:
    while True:
        before = time.monotonic()
        await asyncio.sleep(tick_s)
        late = time.monotonic() - before - tick_s
        if late >= blocked_s:
            log.warning("event loop blocked for %.0f ms", late * 1000)
