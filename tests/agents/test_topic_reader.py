"""agents/topic_reader.py on the real broker: a topic read to its end, by partition and by key, and what it
does with records that retention removed and with a topic that does not exist."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete

from agents.kafka_admin import create_topics
from agents.topic_reader import metadata_consumer, read_batches, read_to_end, topic_partitions
from tests.fixtures import unique

pytestmark = pytest.mark.kafka


async def filled(bootstrap: str, topic: str) -> None:
    """Three partitions: partition p holds keys k0..k3 with values "p:i", offsets 0..3, headers on p 2."""
    await create_topics(bootstrap, [topic], partitions=3)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for p in range(3):
            for i in range(4):
                headers = [("h", str(i).encode())] if p == 2 else []
                await producer.send_and_wait(topic, f"{p}:{i}".encode(), key=f"k{i}".encode(), partition=p,
                                             headers=headers)  # fmt: skip
    finally:
        await producer.stop()


def test_every_record_of_every_partition_in_offset_order(kafka_bootstrap: str) -> None:
    topic = unique("reader")

    async def scenario() -> None:
        await filled(kafka_bootstrap, topic)
        records = await read_to_end(kafka_bootstrap, topic)
        by_partition = {p: [r for r in records if r.partition == p] for p in range(3)}
        for p, rows in by_partition.items():
            assert [r.value for r in rows] == [f"{p}:{i}".encode() for i in range(4)]
            assert [r.offset for r in rows] == [0, 1, 2, 3]
        assert [r.headers for r in by_partition[2]] == [{"h": str(i).encode()} for i in range(4)]
        assert all(r.timestamp > 0 for r in records)

        one = await read_to_end(kafka_bootstrap, topic, partition=1)
        assert [r.value for r in one] == [f"1:{i}".encode() for i in range(4)]
        keyed = await read_to_end(kafka_bootstrap, topic, partition=0, key=b"k2")
        assert [r.value for r in keyed] == [b"0:2"]
        assert sorted(r.value or b"" for r in await read_to_end(kafka_bootstrap, topic, key=b"k3")) == [
            b"0:3", b"1:3", b"2:3",
        ]  # fmt: skip
        assert await read_to_end(kafka_bootstrap, topic, partition=7) == []

        later = await read_to_end(kafka_bootstrap, topic, start={0: 2, 2: 3, 1: 9})
        assert sorted((r.partition, r.offset) for r in later) == [(0, 2), (0, 3), (2, 3)]
        batches = [batch async for batch in read_batches(kafka_bootstrap, topic, start={1: 1})]
        assert sorted((r.partition, r.offset) for batch in batches for r in batch) == sorted(
            [(0, i) for i in range(4)] + [(1, i) for i in range(1, 4)] + [(2, i) for i in range(4)]
        )

    asyncio.run(scenario())


def test_records_removed_from_the_start_are_skipped_and_an_emptied_partition_ends_the_read(
    kafka_bootstrap: str,
) -> None:
    topic = unique("reader")

    async def scenario() -> None:
        await filled(kafka_bootstrap, topic)
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
        await admin.start()
        try:  # partition 0 loses its first two records, partition 1 all four
            await admin.delete_records({TopicPartition(topic, 0): RecordsToDelete(2),
                                        TopicPartition(topic, 1): RecordsToDelete(4)})  # fmt: skip
        finally:
            await admin.close()
        records = await asyncio.wait_for(read_to_end(kafka_bootstrap, topic), timeout=20)
        assert sorted((r.partition, r.offset) for r in records) == [
            (0, 2), (0, 3), (2, 0), (2, 1), (2, 2), (2, 3),
        ]  # fmt: skip

    asyncio.run(scenario())


def test_a_topic_that_does_not_exist_reads_empty(kafka_bootstrap: str) -> None:
    assert asyncio.run(read_to_end(kafka_bootstrap, unique("absent"))) == []


def test_partitions_are_asked_again_until_the_metadata_lists_the_topic(kafka_bootstrap: str) -> None:
    """With a wait, the metadata is asked for again until it lists a topic created after the consumer's
    first refresh (as a busy broker's late answer)."""
    topic = unique("late")

    async def scenario() -> list[int]:
        async with metadata_consumer(kafka_bootstrap) as consumer:
            assert consumer.partitions_for_topic(topic) is None
            await create_topics(kafka_bootstrap, [topic], partitions=2)
            assert await topic_partitions(consumer, topic) == []  # no wait: the metadata as it stands
            return await topic_partitions(consumer, topic, wait_s=10.0)

    assert asyncio.run(scenario()) == [0, 1]
