"""Notices the worker's event loop being blocked: everything the worker does (fetching, batches, timers,
the HTTP API) runs on that one loop, so a stall anywhere shows up as latency everywhere. A batch that is
slow says where its own time went (agents/processor.py); this catches stalls outside batches."""

from __future__ import annotations

import asyncio
import gc
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


class CollectionWatch:
    """Times the garbage collector's pauses (gc.callbacks) and logs the long ones: a full collection walks
    every tracked object, and on a worker holding models and big dicts it can stall
    the loop for tens of ms."""

    def __init__(self, logged_ms: float = 20.0) -> None:
        self.logged_ms = logged_ms
        self.started = 0.0
        self.pauses_ms: list[float] = []  # the logged ones, newest last (bounded)

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self.started = time.perf_counter()
            return
        paused_ms = (time.perf_counter() - self.started) * 1000
        if paused_ms >= self.logged_ms:
            self.pauses_ms = [*self.pauses_ms[-99:], paused_ms]
            log.warning("garbage collection of generation %d paused the worker for %.0f ms (%d collected)",
                        info.get("generation", -1), paused_ms, info.get("collected", 0))  # fmt: skip

    def install(self) -> None:
        if self not in gc.callbacks:
            gc.callbacks.append(self)
