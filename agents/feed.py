"""The events topic's records, from the consumer's fetch loop straight to the batch handler.

Faust hands each record to an agent through its conductor, a channel queue and the stream's iteration:
several coroutine hops and a trip through the event loop per record, which cost more than the engine
does. The worker's consumer (agents/consumer.py) appends the events topic's records to a `RecordFeed`
instead, and the processing agent takes them as batches: whatever is buffered, at once, up to
`max_size`, waiting only while nothing is there (plus at most `max_wait_s` for a batch to fill, when
positive). Under load, records accumulate while a batch is processed, so batches grow by themselves.

Faust's bookkeeping is kept as its streams keep it:
- a record counts as in flight from the moment its batch is taken (`Consumer.track_message`), so a
  rebalance waits for the batch before it commits and revokes, and it is acked through the consumer
  (`Consumer.ack`) only after the batch is processed: nothing is committed past a batch that failed;
- the feed is one of the app's flow-controlled queues: a rebalance drops what is buffered and not taken,
  as Faust drops its channel queues, and records of an older consumer generation are dropped when
  taken. The partitions are sought to their committed offsets on assignment, so those are read again.
  Faust also clears its queues each time recovery resumes the flow, while the flow is already running
  and after the seek; the feed keeps its records then: they are of the current assignment, the
  consumer's position has moved past them, and a seek to a committed offset of 0 does not move it
  back (aiokafka skips it), so dropping them would lose them;
- the buffer is bounded: the fetch loop waits for room before it adds.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import Any, NamedTuple

from faust.types.tuples import Message


class Fetched(NamedTuple):
    """One record of a batch, shaped like a stream's event where the processor reads it."""

    message: Message

    @property
    def value(self) -> bytes | None:
        return self.message.value


class RecordFeed:
    def __init__(self, app: Any, topic: str, max_size: int, max_wait_s: float = 0.0) -> None:
        if max_size < 1:
            raise ValueError("max_size must be at least 1")
        self.app, self.topic = app, topic
        self.max_size, self.max_wait_s = max_size, max_wait_s
        self.capacity = 2 * max_size
        self.dropped = 0  # buffered records dropped by rebalances (they are fetched again)
        self._records: deque[Message] = deque()
        self._arrived = asyncio.Event()
        self._full = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        app.flow_control.manage_queue(self)  # cleared with the app's channel queues

    def __len__(self) -> int:
        return len(self._records)

    # -- the consumer's side ----------------------------------------------------------------------------

    def has_room(self) -> bool:
        return self._room.is_set()

    async def wait_for_room(self) -> None:
        await self._room.wait()

    def put(self, message: Message) -> None:
        records = self._records
        records.append(message)
        self._arrived.set()
        if len(records) >= self.max_size:
            self._full.set()
            if len(records) >= self.capacity:
                self._room.clear()

    def clear(self) -> None:
        """Faust's flow control clears its queues: drop what is buffered when a rebalance suspended the
        flow, keep it when the flow is resuming (see the module's docstring)."""
        if self.app.flow_control.is_active():
            return
        self.dropped += len(self._records)
        self._records.clear()
        self._arrived.clear()
        self._full.clear()
        self._room.set()

    def discard(self, tp: Any) -> int:
        """Drop the records of partition ``tp`` not taken yet (the consumer sought it: they come again from
        where the seek put it); how many."""
        records = self._records
        kept = [message for message in records if message.tp != tp]
        dropped = len(records) - len(kept)
        if dropped:
            records.clear()
            records.extend(kept)
            self.dropped += dropped
            self._taken_out()
        return dropped

    def _taken_out(self) -> None:
        """Records left the buffer: the events follow what is left."""
        left = len(self._records)
        if left < self.max_size:
            self._full.clear()
            if not left:
                self._arrived.clear()
        if left < self.capacity:
            self._room.set()

    # -- the agent's side -------------------------------------------------------------------------------

    async def take(self) -> list[Fetched]:
        """The next batch: up to max_size records of the current consumer generation, tracked as in flight.
        Empty when a rebalance dropped what was there, or it was all of an older generation: the caller
        then finishes the batch in flight before it waits again, since the rebalance waits for that batch,
        and the fetch loop holds its next record until the rebalance is done."""
        while not self._records:
            self._arrived.clear()
            await self._arrived.wait()
        if self.max_wait_s > 0 and len(self._records) < self.max_size:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._full.wait(), timeout=self.max_wait_s)
        return self._take_current()

    def _take_current(self) -> list[Fetched]:
        records = self._records
        count = min(self.max_size, len(records))
        generation = self.app.consumer_generation_id
        consumer = self.app.consumer
        batch: list[Fetched] = []
        for _ in range(count):
            message = records.popleft()
            if message.generation_id != generation:
                self.dropped += 1  # from before a rebalance: the seek to the committed offset reads it again
                continue
            if not message.tracked:
                message.tracked = True
                consumer.track_message(message)
            batch.append(Fetched(message))
        self._taken_out()
        return batch

    def ack(self, batch: list[Fetched]) -> None:
        """The batch is processed and its effects are durable: its offsets may be committed."""
        ack = self.app.consumer.ack
        for item in batch:
            ack(item.message)
