"""SafeConsumer._fetch_only_unpaused against the real broker: the partitions Faust has paused are paused in
its aiokafka consumer too (on the consumer's own thread and loop, as in the worker), so the fetcher asks
only for the others; resuming one in Faust resumes it in aiokafka."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from faust.types import TP

from agents.consumer import SafeConsumer
from agents.kafka_admin import create_topics
from agents.settings import Settings
from tests.agents.fixtures import produce

pytestmark = pytest.mark.kafka
PARTITIONS = 4
Running = tuple[asyncio.AbstractEventLoop, AIOKafkaConsumer, str]


@pytest.fixture
def consumer_thread(test_settings: Settings) -> Iterator[Running]:
    """An aiokafka consumer assigned every partition of a fresh topic, running on a loop of its own thread
    (Faust's consumer thread)."""
    topic = test_settings.topic("pausing")
    asyncio.run(create_topics(test_settings.bootstrap, [topic], PARTITIONS))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def start() -> AIOKafkaConsumer:
        consumer = AIOKafkaConsumer(bootstrap_servers=test_settings.bootstrap, enable_auto_commit=False)
        await consumer.start()
        consumer.assign([TopicPartition(topic, p) for p in range(PARTITIONS)])
        await consumer.seek_to_beginning()
        return consumer

    consumer = asyncio.run_coroutine_threadsafe(start(), loop).result(30)
    try:
        yield loop, consumer, topic
    finally:
        asyncio.run_coroutine_threadsafe(consumer.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def on_thread(loop: asyncio.AbstractEventLoop, coroutine: Any) -> Any:
    return asyncio.run_coroutine_threadsafe(coroutine, loop).result(30)


def test_faust_paused_partitions_are_not_fetched_until_resumed(
    consumer_thread: Running, test_settings: Settings
) -> None:
    loop, consumer, topic = consumer_thread
    faust_side = SimpleNamespace(
        _paused_partitions={TP(topic, 1), TP(topic, 3)},
        _thread=SimpleNamespace(thread_loop=loop, _consumer=consumer),
    )
    SafeConsumer._fetch_only_unpaused(faust_side)  # type: ignore[arg-type]

    async def paused() -> set[int]:  # runs after the call above: the loop takes callbacks in order
        return {tp.partition for tp in consumer.paused()}

    assert on_thread(loop, paused()) == {1, 3}
    asyncio.run(produce(test_settings.bootstrap, topic, [(f"k{p}".encode(), b"v") for p in range(40)]))

    async def fetched(until: set[int]) -> set[int]:
        seen: set[int] = set()
        for _ in range(20):
            batch = await consumer.getmany(timeout_ms=250)
            seen |= {tp.partition for tp, records in batch.items() if records}
            if seen >= until:
                break
        return seen

    assert on_thread(loop, fetched({0, 2})) == {0, 2}  # nothing of the paused partitions

    faust_side._paused_partitions = {TP(topic, 3)}  # Faust resumed partition 1
    SafeConsumer._fetch_only_unpaused(faust_side)  # type: ignore[arg-type]
    assert on_thread(loop, paused()) == {3}
    assert on_thread(loop, fetched({1})) == {1}
