"""A wake-up Kafka refuses is not lost: TimerService puts its timer back and fires it at a later tick,
unless the contact cancelled it meanwhile. The producer here stands in for Faust's (its `send` queues the
record and returns the future of its acknowledgement); the broker tests cover the real one."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
from aiokafka.errors import KafkaTimeoutError

from agents.metrics import Metrics
from agents.timers import TimerService
from tables.timers import TimerStore
from tests.tables.fixtures import direct_table

NOW_MS = 1_767_261_600_000


class Producer:
    """Faust's producer as the timer service uses it: each send's acknowledgement is settled by the test;
    ``raise_next`` makes the next `send` itself fail (a full buffer, missing metadata)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, asyncio.Future[Any]]] = []
        self.partitions: list[int | None] = []
        self.raise_next = False

    async def send(
        self, topic: str, key: bytes, value: bytes, partition: int | None, *_: Any
    ) -> asyncio.Future[Any]:
        if self.raise_next:
            self.raise_next = False
            raise KafkaTimeoutError("no metadata")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.sent.append((orjson.loads(value)["event_id"], future))
        self.partitions.append(partition)
        return future


def service(tmp_path: Path) -> tuple[TimerService, Producer]:
    table, _ = direct_table(tmp_path, 1)
    producer = Producer()
    app = SimpleNamespace(
        producer=producer, on_rebalance_complete=SimpleNamespace(connect=lambda receiver: None)
    )
    return TimerService(app, TimerStore(table), "events", Metrics(), clock=lambda: NOW_MS / 1000), producer


def test_a_refused_wake_up_fires_again_and_an_acknowledged_one_does_not(tmp_path: Path) -> None:
    async def scenario() -> None:
        timers, producer = service(tmp_path)
        timers.add("c1", NOW_MS - 10, "t1", "wait", 0)
        timers.add("c2", NOW_MS - 5, "t2", "wait", 0)
        assert await timers.fire_due() == 2
        [(first, refused), (second, acknowledged)] = producer.sent
        assert (first, second) == ("timer:t1", "timer:t2")
        refused.set_exception(KafkaTimeoutError("request timed out"))
        acknowledged.set_result(None)
        await asyncio.sleep(0)  # the futures' callbacks
        assert await timers.fire_due() == 1
        assert [event_id for event_id, _ in producer.sent[2:]] == ["timer:t1"]
        producer.sent[2][1].set_result(None)
        await asyncio.sleep(0)
        assert await timers.fire_due() == 0

    asyncio.run(scenario())


def test_a_send_that_raises_keeps_its_timer(tmp_path: Path) -> None:
    async def scenario() -> None:
        timers, producer = service(tmp_path)
        timers.add("c1", NOW_MS - 10, "t1", "wait", 0)
        producer.raise_next = True
        try:
            await timers.fire_due()
        except KafkaTimeoutError:
            pass
        else:
            raise AssertionError("the send's error was swallowed")
        assert await timers.fire_due() == 1 and producer.sent[0][0] == "timer:t1"

    asyncio.run(scenario())


def test_a_refused_wake_up_its_contact_cancelled_meanwhile_stays_cancelled(tmp_path: Path) -> None:
    async def scenario() -> None:
        timers, producer = service(tmp_path)
        timers.add("c1", NOW_MS - 10, "t1", "wait", 0)
        assert await timers.fire_due() == 1
        timers.cancel(NOW_MS - 10, "t1")  # the contact moved on before Kafka answered
        producer.sent[0][1].set_exception(KafkaTimeoutError("request timed out"))
        await asyncio.sleep(0)
        assert await timers.fire_due() == 0

    asyncio.run(scenario())


def test_a_wake_up_goes_to_the_partition_its_contact_state_is_in(tmp_path: Path) -> None:
    """A producer may partition the contact's events otherwise than ours does (librdkafka's default hashes
    with CRC32, not murmur2): the wake-up must reach the partition where the contact's state and run are,
    not the one our partitioner picks for the key."""

    async def scenario() -> None:
        timers, producer = service(tmp_path)
        timers.add("c1", NOW_MS - 10, "t1", "wait", 5)
        assert await timers.fire_due() == 1
        assert producer.partitions == [5]
        producer.sent[0][1].set_exception(KafkaTimeoutError("request timed out"))
        await asyncio.sleep(0)
        assert await timers.fire_due() == 1 and producer.partitions == [5, 5]  # fired again, same place

    asyncio.run(scenario())
