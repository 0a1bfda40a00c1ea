"""Adaptive batches from a Faust stream: whatever has arrived, as soon as it is there.

Faust's `take_events(max, within)` waits up to `within` for every batch that is not full, which at a
steady, moderate rate is every batch. `ready_batches` waits only while nothing is buffered. Once a record
is there it also takes what the consumer has already handed to the stream, then yields at once. Under
load, records accumulate while a batch is processed, so the next batch is larger by itself, up to
`max_size`. A positive `max_wait_s` restores an extra wait of at most that long for a batch to fill.

Like take_events, a processor on the stream collects the events (Faust's passive drainer runs the stream
in the background), and each batch is acked after the loop body that received it has finished, or was
left (a `finally`, as in take_events: callers that must not commit a cancelled batch hold a reference).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any, cast

from faust.streams import Stream
from faust.types import ChannelT, EventT
from mode.utils.locks import Event

Events = list[EventT[Any]]


class _Collector:
    """The events the stream has passed on and not yet handed out in a batch."""

    def __init__(self, stream: Stream[Any], max_size: int) -> None:
        self.stream, self.max_size = stream, max_size
        self.events: Events = []
        self.arrived = Event()  # at least one event is buffered
        self.full = Event()  # max_size events are buffered
        self.room = Event()  # the buffer was handed out: the drainer may add again
        self.room.set()
        self.added = 0  # events collected in all: tells a drain step that made progress

    async def add(self, value: Any) -> Any:  # runs in Faust's passive drainer, once per record
        event = self.stream.current_event
        if event is None:
            raise RuntimeError("ready_batches found no current event")
        self.events.append(event)
        self.added += 1
        self.arrived.set()
        if len(self.events) >= self.max_size:
            self.full.set()
            self.room.clear()
            await self.stream.wait(self.room)  # the bound: no more until this batch is taken
        return value

    def take(self) -> Events:
        events, self.events = self.events, []
        self.arrived.clear()
        self.full.clear()
        self.room.set()
        return events


def _queued(stream: Stream[Any]) -> int:
    """Records the consumer has delivered to the stream's channel that the stream has not taken yet."""
    queue = getattr(stream.channel, "queue", None)
    return queue.qsize() if queue is not None else 0


async def _drain(stream: Stream[Any], collector: _Collector) -> None:
    """Let the drainer move what is already queued into the buffer, one record per loop pass.

    Stops when the buffer is full, the queue is empty, or a pass moved nothing (the drainer is blocked
    or skipping records): never a busy loop, never a timer.
    """
    while len(collector.events) < collector.max_size and not stream.should_stop:
        queued, added = _queued(stream), collector.added
        if not queued:
            return
        await asyncio.sleep(0)
        if collector.added == added and _queued(stream) >= queued:
            return


async def ready_batches(
    stream: Stream[Any], max_size: int, max_wait_s: float = 0.0
) -> AsyncGenerator[Events, None]:
    """Yield lists of 1..max_size events: waiting only while none is buffered, plus at most
    `max_wait_s` for a batch to fill (0: never)."""
    if max_size < 1:
        raise ValueError("max_size must be at least 1")
    collector = _Collector(stream, max_size)
    enable_acks = stream.enable_acks
    stream.enable_acks = False  # acked here, once the batch is done
    stream.add_processor(collector.add)
    stream._enable_passive(cast(ChannelT[Any], aiter(stream.channel)))  # what take_events does
    try:
        while not stream.should_stop:
            if not collector.events:
                await stream.wait(collector.arrived)  # or until the stream stops: the loop checks
                continue
            await _drain(stream, collector)
            if max_wait_s > 0 and len(collector.events) < max_size:
                await stream.wait(collector.full, timeout=max_wait_s)
                if stream.should_stop:
                    break
            batch = collector.take()
            try:
                yield batch
            finally:
                for event in batch:
                    await stream.ack(event)
    finally:
        stream.enable_acks = enable_acks
        stream._processors.remove(collector.add)
