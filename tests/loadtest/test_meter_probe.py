"""loadtest.meter.OffsetProbe against the real broker: the lag it reads, once and as a stream of readings
(the benches' waits for lag 0 read through `lags`)."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from agents.kafka_admin import create_topics
from loadtest.meter import OffsetProbe
from tests.fixtures import unique


async def lags_seen(bootstrap: str) -> list[int]:
    topic, group = unique("probe"), unique("probe-group")
    await create_topics(bootstrap, [topic], 2)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for partition, count in ((0, 5), (1, 3)):
            for i in range(count):
                await producer.send_and_wait(topic, b"x%d" % i, partition=partition)
    finally:
        await producer.stop()
    committer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await committer.start()
    tp0, tp1 = TopicPartition(topic, 0), TopicPartition(topic, 1)
    committer.assign([tp0, tp1])
    try:
        await committer.commit({tp0: OffsetAndMetadata(2, "")})  # partition 1: nothing committed yet
        async with OffsetProbe(bootstrap, group, topic, 2) as probe:
            readings = probe.lags(every_s=0.01)
            seen = [await anext(readings)]
            await committer.commit({tp0: OffsetAndMetadata(5, ""), tp1: OffsetAndMetadata(3, "")})
            seen.append(await anext(readings))
            seen.append((await probe.read()).lag)
        return seen
    finally:
        await committer.stop()


def test_the_lag_readings_follow_the_committed_offsets(kafka_bootstrap: str) -> None:
    assert asyncio.run(lags_seen(kafka_bootstrap)) == [3 + 3, 0, 0]
