"""The events topic's feed (agents/feed.py) on a real, unstarted Faust app: batches, bounds, rebalances
and acks, no broker needed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import faust
import pytest
from faust.types import TP
from faust.types.tuples import ConsumerMessage

from agents.feed import Fetched, RecordFeed

TOPIC = "events"


class Source:
    """Puts records into a feed as the consumer's fetch loop does."""

    def __init__(self, app: faust.App, feed: RecordFeed) -> None:
        self.app, self.feed, self.sent = app, feed, 0

    def put(self, count: int, generation: int | None = None) -> None:
        for _ in range(count):
            offset, self.sent = self.sent, self.sent + 1
            generation_id = self.app.consumer_generation_id if generation is None else generation
            self.feed.put(ConsumerMessage(TOPIC, 0, offset, 0.0, 0, None, b"k", b"v", None, tp=TP(TOPIC, 0),
                                  generation_id=generation_id))  # fmt: skip


@pytest.fixture
async def app() -> AsyncIterator[faust.App]:
    made = faust.App("feed-test", broker="kafka://127.0.0.1:1", store="memory://", autodiscover=False,
                     loop=asyncio.get_running_loop())  # fmt: skip
    made.flow_control.resume()  # as after a partition assignment
    yield made


def make(app: faust.App, max_size: int = 100, max_wait_s: float = 0.0) -> tuple[RecordFeed, Source]:
    feed = RecordFeed(app, TOPIC, max_size, max_wait_s)
    return feed, Source(app, feed)


def offsets(batch: list[Fetched]) -> list[int]:
    return [item.message.offset for item in batch]


async def test_what_is_there_comes_at_once_in_bounded_batches(app: faust.App) -> None:
    feed, source = make(app, max_size=100)
    source.put(250)
    sizes = [len(await feed.take()) for _ in range(3)]
    assert sizes == [100, 100, 50]
    assert len(feed) == 0


async def test_one_record_is_not_held_back_and_a_later_one_is_awaited(app: faust.App) -> None:
    feed, source = make(app)
    source.put(1)
    assert offsets(await asyncio.wait_for(feed.take(), 1.0)) == [0]
    waiting = asyncio.ensure_future(feed.take())
    await asyncio.sleep(0.05)
    assert not waiting.done()
    source.put(2)
    assert offsets(await asyncio.wait_for(waiting, 1.0)) == [1, 2]


async def test_the_buffer_is_bounded_and_taking_makes_room(app: faust.App) -> None:
    feed, source = make(app, max_size=10)
    source.put(19)
    assert feed.has_room()
    source.put(1)
    assert not feed.has_room()
    waiting = asyncio.ensure_future(feed.wait_for_room())
    await asyncio.sleep(0.01)
    assert not waiting.done()
    await feed.take()
    await asyncio.wait_for(waiting, 1.0)


async def test_a_rebalance_drops_what_was_not_taken(app: faust.App) -> None:
    feed, source = make(app)
    source.put(5)
    app.flow_control.suspend()
    app.flow_control.clear()  # what Faust does to its channel queues when partitions are revoked
    assert len(feed) == 0 and feed.dropped == 5 and feed.has_room()
    app.flow_control.resume()
    source.put(2, generation=app.consumer_generation_id - 1)  # fetched before the rebalance
    source.put(1)
    assert offsets(await asyncio.wait_for(feed.take(), 1.0)) == [7]
    assert feed.dropped == 7


async def test_resuming_a_running_flow_keeps_what_is_buffered(app: faust.App) -> None:
    # Recovery resumes the flow again after seeking to the committed offsets, while records fetched since
    # the assignment are buffered and the consumer's position is past them: nothing would read them again.
    feed, source = make(app)
    source.put(3)
    app.flow_control.resume()
    assert len(feed) == 3 and feed.dropped == 0
    assert offsets(await asyncio.wait_for(feed.take(), 1.0)) == [0, 1, 2]


async def test_taken_records_are_in_flight_until_acked(app: faust.App) -> None:
    feed, source = make(app)
    source.put(3)
    batch = await feed.take()
    consumer: Any = app.consumer
    unacked = consumer._unacked_messages
    assert {item.message for item in batch} <= set(unacked)
    feed.ack(batch)
    assert all(item.message.acked for item in batch)
    consumer._clean_unacked_messages()  # what a rebalance's wait for in-flight records does
    assert not any(item.message in unacked for item in batch)


async def test_a_positive_max_wait_fills_a_batch_for_at_most_that_long(app: faust.App) -> None:
    feed, source = make(app, max_size=10, max_wait_s=0.2)
    source.put(3)
    started = time.monotonic()
    late = asyncio.get_running_loop().call_later(0.05, source.put, 7)
    assert offsets(await feed.take()) == list(range(10))  # filled by the later records, before the limit
    late.cancel()
    source.put(2)
    started = time.monotonic()
    assert len(await feed.take()) == 2
    assert time.monotonic() - started >= 0.19  # waited for more, then gave up


def test_a_batch_size_below_one_is_refused() -> None:
    loop = asyncio.new_event_loop()
    try:
        app = faust.App("feed-test-2", broker="kafka://127.0.0.1:1", store="memory://", autodiscover=False,
                        loop=loop)  # fmt: skip
        with pytest.raises(ValueError, match="at least 1"):
            RecordFeed(app, TOPIC, 0)
    finally:
        loop.close()


async def test_a_seek_discards_only_that_partitions_untaken_records(app: faust.App) -> None:
    """Records of a sought partition still in the feed are from before the seek: the gap guard would take
    them for the first ones after it."""
    feed = RecordFeed(app, TOPIC, max_size=2)
    generation = app.consumer_generation_id
    for partition, offset in ((0, 140), (1, 7), (0, 141), (1, 8)):
        feed.put(ConsumerMessage(TOPIC, partition, offset, 0.0, 0, None, b"k", b"v", None,
                                 tp=TP(TOPIC, partition), generation_id=generation))  # fmt: skip
    assert not feed.has_room()
    assert feed.discard(TP(TOPIC, 0)) == 2 and feed.dropped == 2
    assert feed.has_room() and len(feed) == 2
    taken = await asyncio.wait_for(feed.take(), 1.0)
    assert [(item.message.partition, item.message.offset) for item in taken] == [(1, 7), (1, 8)]
    assert feed.discard(TP(TOPIC, 0)) == 0


async def test_a_rebalance_during_the_wait_for_a_fuller_batch_returns_an_empty_one(app: faust.App) -> None:
    """The rebalance waits for the batch in flight, and the fetch loop holds its next record until the
    rebalance is done: waiting on for new records here, instead of returning, would wait for ever."""
    feed, source = make(app, max_size=100, max_wait_s=0.5)
    source.put(10)
    taking = asyncio.ensure_future(feed.take())
    await asyncio.sleep(0.05)
    app.flow_control.suspend()
    app.flow_control.clear()
    assert await asyncio.wait_for(taking, 5.0) == []
