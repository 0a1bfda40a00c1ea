"""The timer service: fires each contact's durable wake-ups by producing `timer.fired` to `events`.

It keeps the timers of the partitions this worker holds in memory (agents/timer_queue.py). The queue is
rebuilt from the `timers` table after every rebalance, when Faust signals that recovery is complete and
streams resume (earlier, the table may not hold the partition's rows yet), and is fed directly by the
processing agent in between: the timers a contact's new state expects are added, and those it no longer
expects are cancelled. So the live timers are always the table's, whether or not the worker restarted: a
timer its contact moved on from (a model's wake-up moved by new activity, a wait that ended early) does
not fire. A due timer becomes an event keyed by its contact, so it is processed in order with the
contact's other events; a duplicate wake-up is ignored by the step machine. Timers never fire early: only
when the wall clock has reached their due time.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from typing import Any

import orjson

from agents.metrics import Metrics
from agents.timer_queue import Timer, TimerQueue
from tables.timers import TimerStore

log = logging.getLogger("switchyard.timers")
TIMER_EVENT = "timer.fired"
REBUILD_CHUNK = 1_000  # timer rows read between two trips through the event loop while rebuilding


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
        self.queue = TimerQueue(self.now_ms())
        self.rebuild_chunk = REBUILD_CHUNK
        self._journal: list[tuple[bool, Timer]] | None = None  # (added, timer) while a rebuild reads
        # Fired, not yet acknowledged by Kafka: one whose wake-up is refused goes back into the queue
        # (unless its contact cancelled it meanwhile), so a failed send is tried again at the next tick.
        self._in_flight: dict[tuple[int, str], Timer] = {}
        self.stale = False
        app.on_rebalance_complete.connect(self._on_rebalance_complete)

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    async def _on_rebalance_complete(self, sender: Any = None, **kwargs: Any) -> None:
        self.stale = True

    def add(self, contact_id: str, due: int, token: str, kind: str, partition: int) -> None:
        timer = Timer(due, token, contact_id, kind, partition)
        if self._journal is not None:
            self._journal.append((True, timer))
        if self.queue.add(timer):
            self.metrics.timers_pending = len(self.queue)

    def cancel(self, due: int, token: str) -> None:
        """The timer's contact no longer expects it: it will not fire."""
        if self._journal is not None:
            self._journal.append((False, Timer(due, token, "", "")))
        self._in_flight.pop((due, token), None)
        if self.queue.cancel(due, token):
            self.metrics.timers_pending = len(self.queue)

    def assigned_tps(self) -> list[Any]:
        """The partitions of `events` this worker holds now."""
        return sorted(tp for tp in self.app.assignor.assigned_actives() if tp.topic == self.events_topic)

    def assigned(self) -> list[int]:
        return [tp.partition for tp in self.assigned_tps()]

    def ready(self) -> bool:
        return not (self.app.rebalancing or self.app.in_recovery)

    async def rebuild(self) -> int:
        """A queue of the timers table's timers, read a chunk at a time while the event loop runs on.

        Meanwhile the processor's adds and cancels go to the current queue and to a journal, which is
        replayed on the new queue before it takes over. A row read before such a change gets it from the
        replay; a row read after it already has it, and the replay changes nothing: the adds and cancels of
        one (due, token), replayed in order, end where the processor left them from any row in between.
        Nothing fires meanwhile (`run` awaits this)."""
        journal: list[tuple[bool, Timer]] = []
        self._journal = journal
        try:
            queue = TimerQueue(self.now_ms())
            for rows in self.store.scan(self.rebuild_chunk):
                for partition, contact_id, due, token, kind in rows:
                    queue.add(Timer(due, token, contact_id, kind, partition))
                await asyncio.sleep(0)
        finally:
            self._journal = None
        for added, timer in journal:
            if added:
                queue.add(timer)
            else:
                queue.cancel(timer.due, timer.token)
        self.queue = queue
        self.metrics.timers_pending = len(queue)
        return len(queue)

    async def fire_due(self) -> int:
        """Produce a wake-up for every timer whose due time has passed; returns how many."""
        now_ms = self.now_ms()
        fired = 0
        self.metrics.timers_overdue = 0
        # one at a time: a timer the processor cancels while an earlier one is being sent must not fire
        while (timer := self.queue.pop_due(now_ms)) is not None:
            value = timer_event(timer.contact_id, timer.due, timer.token, timer.kind, now_ms)
            key = (timer.due, timer.token)
            self._in_flight[key] = timer
            try:
                # to the partition of the contact's state: its events' producer may partition otherwise
                sent = await self.app.producer.send(
                    self.events_topic, timer.contact_id.encode(), value, timer.partition, None, None
                )
            except BaseException:
                self._refused(timer)
                raise
            sent.add_done_callback(functools.partial(self._settled, timer))
            self.metrics.observe_timer_fired(now_ms - timer.due)
            fired += 1
        self.metrics.timers_pending = len(self.queue)
        self.metrics.timers_overdue = fired
        return fired

    def _settled(self, timer: Timer, sent: asyncio.Future[Any]) -> None:
        if not sent.cancelled() and sent.exception() is None:
            self._in_flight.pop((timer.due, timer.token), None)
            return
        reason = "cancelled" if sent.cancelled() else repr(sent.exception())
        log.warning("wake-up %s of %s refused (%s); it fires again", timer.token, timer.contact_id, reason)
        self._refused(timer)

    def _refused(self, timer: Timer) -> None:
        """Back into the queue, unless the contact cancelled it while it was in flight."""
        if self._in_flight.pop((timer.due, timer.token), None) is not None:
            self.add(timer.contact_id, timer.due, timer.token, timer.kind, timer.partition)

    async def run(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:  # a bad tick must not end the service; the next one tries again
                log.exception("timer tick failed")
            await asyncio.sleep(self.tick_s)

    async def tick(self) -> None:
        """Rebuild the queue if a rebalance made it stale, then fire what is due."""
        if not self.ready():
            return
        if self.stale:
            # Cleared first: a rebalance completing during the rebuild sets it again. A rebuild that fails
            # leaves it set, so the next tick tries again instead of firing from the old queue for good.
            self.stale = False
            try:
                pending = await self.rebuild()
            except BaseException:
                self.stale = True
                raise
            log.info("partitions %s: timers rebuilt from the table, %d pending", self.assigned(), pending)
        await self.fire_due()
