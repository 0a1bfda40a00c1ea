"""TopicFollower against the real broker: when a topic counts as read to its end, and what it hands over."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer

from switchyard.kafka_tools import create_topics
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
