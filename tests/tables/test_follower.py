"""TopicFollower against the real broker: when a topic counts as read to its end, and what it hands over."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer

from agents.kafka_admin import create_topics
from tables.follower import TopicFollower
from tests.agents.fixtures import produce
from tests.fixtures import running, unique

pytestmark = pytest.mark.kafka


def follow(bootstrap: str, topic: str, monkeypatch: pytest.MonkeyPatch) -> tuple[list[Any], dict[str, int]]:
    """Run a follower of ``topic`` until it is loaded; (the (key, value) pairs it applied, the number of
    fetches it had made when it said it was loaded)."""
    fetches = {"made": 0, "when loaded": -1}
    getmany = AIOKafkaConsumer.getmany

    async def counted(self: AIOKafkaConsumer, *args: Any, **kwargs: Any) -> Any:
        fetches["made"] += 1
        return await getmany(self, *args, **kwargs)

    monkeypatch.setattr(AIOKafkaConsumer, "getmany", counted)
    applied: list[Any] = []

    def loaded() -> None:
        fetches["when loaded"] = fetches["made"]

    async def run() -> None:
        follower = TopicFollower(bootstrap, topic, lambda key, value: applied.append((key, value)), loaded)
        async with running(follower.run()):
            await asyncio.wait_for(follower.loaded.wait(), 30)

    asyncio.run(run())
    return applied, fetches


def test_an_empty_topic_is_loaded_before_any_fetch(
    kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic = unique("follow-empty")
    asyncio.run(create_topics(kafka_bootstrap, [topic], 2))
    applied, fetches = follow(kafka_bootstrap, topic, monkeypatch)
    assert applied == []
    assert fetches["when loaded"] == 0  # a fetch of an empty topic waits out its timeout for nothing


def test_a_topic_is_loaded_once_every_record_is_applied(
    kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic = unique("follow-records")
    asyncio.run(create_topics(kafka_bootstrap, [topic], 2))
    records = [(f"k{i}".encode(), f"v{i}".encode()) for i in range(5)] + [(b"k0", None)]
    asyncio.run(produce(kafka_bootstrap, topic, records))
    applied, fetches = follow(kafka_bootstrap, topic, monkeypatch)
    assert sorted(applied, key=repr) == sorted(records, key=repr)
    assert fetches["when loaded"] >= 1


def test_the_topics_ends_are_read_before_the_consumer_starts_fetching(
    kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once partitions are assigned, the consumer's fetch of an empty partition waits on the broker for up
    to 500 ms, and an offset request on the same connection queues behind it: a worker was ready half a
    second later for it."""
    topic = unique("follow-order")
    asyncio.run(create_topics(kafka_bootstrap, [topic], 2))
    calls: list[str] = []
    for name in ("assign", "beginning_offsets", "end_offsets"):
        real = getattr(AIOKafkaConsumer, name)

        def recorded(self: AIOKafkaConsumer, *args: Any, _name: str = name, _real: Any = real) -> Any:
            calls.append(_name)
            return _real(self, *args)

        monkeypatch.setattr(AIOKafkaConsumer, name, recorded)
    follow(kafka_bootstrap, topic, monkeypatch)
    assert calls[:3] == ["beginning_offsets", "end_offsets", "assign"]
