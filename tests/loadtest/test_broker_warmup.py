"""The load test's broker warm-up against the real broker: acknowledged rounds over every scratch topic,
records read back, topics shaped like the run's, and kept (never deleted, so no file deletion lands in a
run)."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer

from agents.kafka_admin import end_offsets
from agents.settings import Settings
from loadtest.broker_warmup import RECORDS_PER_BATCH, WARMUP_PARTITIONS, WARMUP_TOPICS, warm_broker

pytestmark = pytest.mark.kafka

LOG_APPEND_TIME = 1  # a record's timestamp_type when the broker stamped it


async def first_timestamp_type(bootstrap: str, topic: str) -> int:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False)  # fmt: skip
    await consumer.start()
    try:
        record = await asyncio.wait_for(consumer.getone(), 10)
        return int(record.timestamp_type)
    finally:
        await consumer.stop()


def test_warm_up_rounds_are_acknowledged_on_every_kept_topic_and_read_back(test_settings: Settings) -> None:
    bootstrap = test_settings.bootstrap

    async def ends() -> dict[str, dict[int, int]]:
        return {topic: await end_offsets(bootstrap, topic) for topic in WARMUP_TOPICS}

    async def run() -> tuple[int, int, dict[str, dict[int, int]], dict[str, dict[int, int]], dict[str, int]]:
        await warm_broker(bootstrap, seconds=0.2)  # the topics exist from here on
        before = await ends()
        warmed = await warm_broker(bootstrap, seconds=1.0)
        after = await ends()
        stamps = {topic: await first_timestamp_type(bootstrap, topic) for topic in WARMUP_TOPICS}
        return warmed.batches, warmed.records_read, before, after, stamps

    batches, read, before, after, stamps = asyncio.run(run())
    rounds, leftover = divmod(batches, WARMUP_PARTITIONS * len(WARMUP_TOPICS))
    assert rounds >= 1 and leftover == 0  # whole rounds over every topic and partition
    for topic in WARMUP_TOPICS:
        assert len(after[topic]) == WARMUP_PARTITIONS
        appended = sum(after[topic].values()) - sum(before[topic].values())
        assert appended == rounds * WARMUP_PARTITIONS * RECORDS_PER_BATCH, topic  # every acked batch is there
    assert 0 < read <= rounds * WARMUP_PARTITIONS * RECORDS_PER_BATCH
    appendtime = [t for t, c in WARMUP_TOPICS.items() if c.get("message.timestamp.type") == "LogAppendTime"]
    assert appendtime and all(stamps[t] == LOG_APPEND_TIME for t in appendtime)
    assert all(stamps[t] != LOG_APPEND_TIME for t in WARMUP_TOPICS if t not in appendtime)
