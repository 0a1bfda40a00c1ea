"""Adaptive batches (agents/batching.py) on a real Faust stream fed by hand: no broker needed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import faust
import pytest
from faust.types import TP, EventT
from faust.types.tuples import Message

from agents.batching import ready_batches


class Feed:
    """A started Faust stream and a way to put records into its channel, as the consumer does."""

    def __init__(self, app: faust.App) -> None:
        self.app = app
        self.stream: Any = app.stream(app.channel())
        self.sent = 0

    async def put(self, count: int) -> None:
        channel = self.stream.channel
        for _ in range(count):
            offset, self.sent = self.sent, self.sent + 1
            message = Message("events", 0, offset, 0.0, 0, None, b"k", b"v", None, tp=TP("events", 0),
                              generation_id=self.app.consumer_generation_id)  # fmt: skip
            await channel.queue.put(channel._create_event(None, offset, {}, message))


@pytest.fixture
async def feed() -> AsyncIterator[Feed]:
    app = faust.App("batching-test", broker="kafka://127.0.0.1:1", store="memory://", autodiscover=False,
                    loop=asyncio.get_running_loop())  # fmt: skip
    app.flow_control.resume()  # as after a partition assignment
    result = Feed(app)
    await result.stream.maybe_start()
    yield result
    await result.stream.stop()


def offsets(batch: list[EventT[Any]]) -> list[int]:
    return [event.message.offset for event in batch]


async def test_what_is_there_comes_at_once_in_bounded_batches(feed: Feed) -> None:
    await feed.put(10)
    started, got = time.monotonic(), []
    async for batch in ready_batches(feed.stream, 4):
        got.append(offsets(batch))
        if sum(map(len, got)) == 10:
            break
    assert got == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert time.monotonic() - started < 0.09  # no waiting for batches to fill (take_events: 0.1 s each)


async def test_one_record_is_not_held_back_and_a_later_one_is_awaited(feed: Feed) -> None:
    batches = ready_batches(feed.stream, 2000)
    await feed.put(1)
    assert offsets(await asyncio.wait_for(anext(batches), 0.05)) == [0]
    later = asyncio.ensure_future(anext(batches))
    await asyncio.sleep(0.05)
    assert not later.done()  # nothing buffered: it waits for the next record
    await feed.put(1)
    assert offsets(await asyncio.wait_for(later, 0.05)) == [1]
    await batches.aclose()


async def test_records_arriving_during_a_batch_make_the_next_one(feed: Feed) -> None:
    await feed.put(1)
    got = []
    async for batch in ready_batches(feed.stream, 100):
        got.append(offsets(batch))
        if len(got) == 1:
            await feed.put(30)  # while the first batch is "processed"
            await asyncio.sleep(0.01)
        else:
            break
    assert got == [[0], list(range(1, 31))]


async def test_a_batch_is_acked_once_its_loop_body_is_done(feed: Feed) -> None:
    await feed.put(3)
    batches = ready_batches(feed.stream, 10)
    first = await anext(batches)
    assert not any(event.message.acked for event in first)
    await feed.put(1)
    await anext(batches)
    assert all(event.message.acked for event in first)
    await batches.aclose()


async def test_a_positive_max_wait_fills_a_batch_for_at_most_that_long(feed: Feed) -> None:
    batches = ready_batches(feed.stream, 5, max_wait_s=0.2)
    await feed.put(2)
    started = time.monotonic()
    assert offsets(await anext(batches)) == [0, 1]
    assert 0.15 < time.monotonic() - started < 0.5

    async def late() -> None:
        await asyncio.sleep(0.05)
        await feed.put(3)

    filler = asyncio.ensure_future(late())
    await feed.put(2)
    started = time.monotonic()
    assert offsets(await anext(batches)) == [2, 3, 4, 5, 6]  # full before the wait is over
    assert time.monotonic() - started < 0.15
    await filler
    await batches.aclose()
