"""The timer service: fires each contact's durable wake-ups by producing `timer.fired` to `events`.

It keeps an in-memory heap of the timers of the partitions this worker holds. The heap is rebuilt from
the `timers` table after every rebalance, when Faust signals that recovery is complete and streams
resume (earlier, the table may not hold the partition's rows yet), and is fed directly by the
processing agent in between: the timers a contact's new state expects are added, and those it no
longer expects are cancelled. So the live timers are always the table's, whether or not the worker
restarted: a timer its contact moved on from (a model's wake-up moved by new activity, a wait that
ended early) does not fire, and its heap entry is dropped when it comes due or when cancelled entries
outnumber live ones. A due timer becomes an event keyed by its contact, so it is processed in order
with the contact's other events; a duplicate wake-up is ignored by the step machine. Timers never fire
early: only when the wall clock has reached their due time.
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
COMPACT_AT = 10_000  # cancelled heap entries are dropped once there are this many and more than live ones


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
        # (due, token, contact, kind). One entry per live token counts; the other len(heap) - len(tokens)
        # are garbage: a cancelled timer's, or the older entry of a token cancelled and added again.
        self.heap: list[tuple[int, str, str, str]] = []
        self.tokens: set[str] = set()  # the live timers' tokens
        self.stale = False
        app.on_rebalance_complete.connect(self._on_rebalance_complete)

    async def _on_rebalance_complete(self, sender: Any = None, **kwargs: Any) -> None:
        self.stale = True

    def add(self, contact_id: str, due: int, token: str, kind: str) -> None:
        if token not in self.tokens:
            self.tokens.add(token)
            heapq.heappush(self.heap, (due, token, contact_id, kind))
            self.metrics.timers_pending = len(self.tokens)

    def cancel(self, token: str) -> None:
        """The timer's contact no longer expects it: it will not fire."""
        if token in self.tokens:
            self.tokens.discard(token)
            self.metrics.timers_pending = live = len(self.tokens)
            cancelled = len(self.heap) - live
            if cancelled >= COMPACT_AT and cancelled > live:
                self._compact()

    def _compact(self) -> None:
        """Drop the heap's entries of cancelled timers (one entry per live token is kept)."""
        live, kept = self.tokens, set()
        heap = []
        for entry in self.heap:
            token = entry[1]
            if token in live and token not in kept:
                kept.add(token)
                heap.append(entry)
        heapq.heapify(heap)
        self.heap = heap

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
        self.metrics.timers_pending = len(self.tokens)
        return len(self.tokens)

    async def fire_due(self) -> int:
        """Produce a wake-up for every timer whose due time has passed; returns how many."""
        now_ms = int(self.clock() * 1000)
        heap = self.heap
        fired = 0
        self.metrics.timers_overdue = 0
        while heap and heap[0][0] <= now_ms:
            due, token, contact_id, kind = heapq.heappop(heap)
            if token not in self.tokens:  # cancelled, or fired already (a cancelled entry's token came back)
                continue
            self.tokens.discard(token)
            value = timer_event(contact_id, due, token, kind, now_ms)
            await self.app.producer.send(self.events_topic, contact_id.encode(), value, None, None, None)
            self.metrics.observe_timer_fired(now_ms - due)
            fired += 1
        self.metrics.timers_pending = len(self.tokens)
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
