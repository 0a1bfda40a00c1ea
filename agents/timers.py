"""The timer service: fires each contact's durable wake-ups by producing `timer.fired` to `events`.

It keeps an in-memory heap of the timers of the partitions this worker holds. The heap is rebuilt from
the `timers` table after every rebalance, when Faust signals that recovery is complete and streams
resume (earlier, the table may not hold the partition's rows yet), and is fed directly by the
processing agent in between. A due timer becomes an event keyed by its contact, so it is processed in
order with the contact's other events; a duplicate or stale wake-up is ignored by the step machine.
Timers never fire early: only when the wall clock has reached their due time.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import time
from collections.abc import Callable
from typing import Any

import orjson

from agents.metrics import Metrics
from tables.timers import TimerStore

log = logging.getLogger("switchyard.timers")
TIMER_EVENT = "timer.fired"


def timer_event(contact_id: str, due: int, token: str, kind: str, fired_at: int) -> bytes:
    """The wake-up, in the event contract. Its event time is the due time, not the firing time."""
    return orjson.dumps(
        {
            "event_id": f"timer:{token}",
            "contact_id": contact_id,
            "type": TIMER_EVENT,
            "ts": due,
            "properties": {"token": token, "due": due, "kind": kind, "fired_at": fired_at},
        }
    )


class TimerService:
    def __init__(
        self,
        app: Any,
        store: TimerStore,
        events_topic: str,
        metrics: Metrics,
        clock: Callable[[], float] = time.time,
        tick_s: float = 0.02,
    ) -> None:
        self.app = app
        self.store = store
        self.events_topic = events_topic
        self.metrics = metrics
        self.clock = clock
        self.tick_s = tick_s
        self.heap: list[tuple[int, str, str, str]] = []  # (due, token, contact, kind)
        self.tokens: set[str] = set()
        self.stale = False
        app.on_rebalance_complete.connect(self._on_rebalance_complete)

    async def _on_rebalance_complete(self, sender: Any = None, **kwargs: Any) -> None:
        self.stale = True

    def add(self, contact_id: str, due: int, token: str, kind: str) -> None:
        if token not in self.tokens:
            self.tokens.add(token)
            heapq.heappush(self.heap, (due, token, contact_id, kind))

    def assigned_tps(self) -> list[Any]:
        """The partitions of `events` this worker holds now."""
        return sorted(tp for tp in self.app.assignor.assigned_actives() if tp.topic == self.events_topic)

    def assigned(self) -> list[int]:
        return [tp.partition for tp in self.assigned_tps()]

    def ready(self) -> bool:
        return not (self.app.rebalancing or self.app.in_recovery)

    def rebuild(self) -> int:
        self.heap = []
        self.tokens = set()
        for contact_id, due, token, kind in self.store.scan():
            self.tokens.add(token)
            self.heap.append((due, token, contact_id, kind))
        heapq.heapify(self.heap)
        self.metrics.timers_pending = len(self.heap)
        return len(self.heap)

    async def fire_due(self) -> int:
        """Produce a wake-up for every timer whose due time has passed; returns how many."""
        now_ms = int(self.clock() * 1000)
        heap = self.heap
        fired = 0
        self.metrics.timers_overdue = 0
        while heap and heap[0][0] <= now_ms:
            due, token, contact_id, kind = heapq.heappop(heap)
            self.tokens.discard(token)
            value = timer_event(contact_id, due, token, kind, now_ms)
            await self.app.producer.send(self.events_topic, contact_id.encode(), value, None, None, None)
            self.metrics.observe_timer_fired(now_ms - due)
            fired += 1
        self.metrics.timers_pending = len(heap)
        self.metrics.timers_overdue = fired
        return fired

    async def run(self) -> None:
        while True:
            try:
                if self.ready():
                    if self.stale:
                        self.stale = False
                        pending = self.rebuild()
                        log.info("partitions %s: timer heap rebuilt, %d pending", self.assigned(), pending)
                    await self.fire_due()
            except asyncio.CancelledError:
                raise
            except Exception:  # a bad tick must not end the service; the next one tries again
                log.exception("timer tick failed")
            await asyncio.sleep(self.tick_s)
