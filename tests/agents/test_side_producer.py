"""The changelog's producer against the real broker: a connection of its own, made with Faust's producer
settings, started and stopped with Faust's producer, and refused (not silently dropped) when stopped."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, cast

import faust
import pytest

from agents.exceptions import DeliveryFailed, NotStarted
from agents.kafka_admin import create_topics
from agents.outbox import Outbox
from agents.settings import Settings
from agents.side_producer import SideProducer
from tests.agents.test_outbox import read_all

pytestmark = pytest.mark.kafka


def test_the_side_producer_is_a_second_connection_with_fausts_settings_and_its_lifetime(
    test_settings: Settings, tmp_path: Path
) -> None:
    topic = test_settings.topic("side")

    async def run() -> dict[int, list[Any]]:
        app = faust.App(  # made in the running loop: Faust's services bind to the loop current at creation
            test_settings.app_id, broker=f"kafka://{test_settings.bootstrap}", datadir=str(tmp_path),
            producer_acks=-1, producer_max_request_size=123_456,
        )  # fmt: skip
        side = SideProducer(app).attach()
        await create_topics(test_settings.bootstrap, [topic], partitions=2)
        with pytest.raises(NotStarted):
            side()
        await app.producer.start()
        try:
            mine, fausts = side(), cast(Any, app.producer)._ensure_producer()
            assert mine is not fausts and mine._max_request_size == 123_456  # Faust's, not aiokafka's default
            assert mine.client is not fausts.client  # its own connections, so its own request in flight
            for name in ("_request_timeout_ms", "_max_request_size", "_compression_type"):
                assert getattr(mine, name) == getattr(fausts, name), name
            assert mine._sender._acks == fausts._sender._acks == -1
            assert mine.client._bootstrap_servers == fausts.client._bootstrap_servers
            outbox = Outbox(side)
            for n in range(10):
                outbox.add(topic, f"k{n}".encode(), f"v{n}".encode(), partition=n % 2)
            await outbox.deliver()
        finally:
            await app.producer.stop()
        with pytest.raises(NotStarted):
            side()
        late = Outbox(side)
        late.add(topic, b"k", b"late", partition=0)
        with pytest.raises(DeliveryFailed, match="not running"):
            await late.deliver()
        return await read_all(test_settings.bootstrap, topic, 2)

    landed = asyncio.run(run())
    assert [value for _, value, _ in landed[0]] == [b"v0", b"v2", b"v4", b"v6", b"v8"]
    assert [value for _, value, _ in landed[1]] == [b"v1", b"v3", b"v5", b"v7", b"v9"]
