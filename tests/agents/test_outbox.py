"""The outbox against the real broker: a packed topic gets few records, and every value lands in the
partition its key chooses, in order, exactly as the same records sent one by one."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.record.default_records import DefaultRecordBatch

from agents.kafka_admin import create_topics
from agents.outbox import Outbox, Record, record_batches, settle
from agents.settings import Settings
from engine.packing import unpack

pytestmark = pytest.mark.kafka


async def read_all(bootstrap: str, topic: str, partitions: int) -> dict[int, list[Any]]:
    """Per partition: (key, value, headers) of every record, in log order."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        out: dict[int, list[Any]] = {p: [] for p in range(partitions)}
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            for tp, records in (await consumer.getmany(timeout_ms=1000)).items():
                out[tp.partition] += [(r.key, r.value, list(r.headers)) for r in records]
        return out
    finally:
        await consumer.stop()


def test_a_packed_topic_gets_one_record_per_partition_with_the_values_where_their_keys_put_them(
    test_settings: Settings,
) -> None:
    packed, plain = test_settings.topic("packed"), test_settings.topic("plain")
    records = [(f"c{i % 23}".encode(), orjson.dumps({"contact": i % 23, "n": i})) for i in range(400)]
    marked = (b"c5", b'{"marked": true}', [("x-why", b"kept whole")])

    async def run() -> tuple[dict[int, list[Any]], dict[int, list[Any]]]:
        await create_topics(test_settings.bootstrap, [packed, plain], partitions=4)
        producer = AIOKafkaProducer(bootstrap_servers=test_settings.bootstrap, acks="all")
        await producer.start()
        try:
            outbox = Outbox(lambda: producer, packed={packed})
            for index, (key, value) in enumerate(records):
                outbox.add(packed, key, value)
                outbox.add(plain, key, value)
                if index == 200:
                    outbox.add(packed, *marked)
            await outbox.deliver()
        finally:
            await producer.stop()
        return (
            await read_all(test_settings.bootstrap, packed, 4),
            await read_all(test_settings.bootstrap, plain, 4),
        )

    got_packed, got_plain = asyncio.run(run())
    assert sum(map(len, got_plain.values())) == len(records)
    for partition, singles in got_plain.items():
        in_pack = got_packed[partition]
        whole = [r for r in in_pack if r[2]]
        values = [v for key, value, headers in in_pack if not headers for v in unpack(value)]
        # The same values, in the same order, in the same partition as when sent one by one.
        assert values == [orjson.loads(value) for _, value, _ in singles]
        assert all(key is None for key, _, headers in in_pack if not headers)
        if marked[0] in {key for key, _, _ in singles}:
            assert whole == [(marked[0], marked[1], marked[2])]
            assert len(in_pack) == 3  # the pack before it, the record with headers, the pack after it
        else:
            assert whole == [] and len(in_pack) == 1


def test_learned_partitions_are_known_before_the_first_delivery(test_settings: Settings) -> None:
    topics = [test_settings.topic("learned-a"), test_settings.topic("learned-b")]

    async def run() -> tuple[dict[str, Any], list[str]]:
        await create_topics(test_settings.bootstrap, topics, partitions=3)
        producer = AIOKafkaProducer(bootstrap_servers=test_settings.bootstrap, acks="all")
        await producer.start()
        try:
            known_before = [t for t in topics if producer.client.cluster.partitions_for_topic(t)]
            await Outbox(lambda: producer).learn_partitions(topics)
            return {t: producer.client.cluster.partitions_for_topic(t) for t in topics}, known_before
        finally:
            await producer.stop()

    learned, known_before = asyncio.run(run())
    assert known_before == []  # a new producer knows neither topic
    assert learned == {t: {0, 1, 2} for t in topics}


def test_flushes_submitted_before_the_last_settled_keep_each_partition_in_flush_order(
    test_settings: Settings,
) -> None:
    """The worker submits a batch's changelog and processes the next batch before it settles: a partition's
    records of several flushes, each more than one record batch, land in the order they were flushed."""
    topic = test_settings.topic("chained")
    value = b"x" * 20_000  # 20 KB: a flush of 60 records is several 256 KB record batches per partition

    async def run() -> tuple[dict[int, list[Any]], list[int]]:
        await create_topics(test_settings.bootstrap, [topic], partitions=2)
        producer = AIOKafkaProducer(
            bootstrap_servers=test_settings.bootstrap, acks="all", max_batch_size=256_000
        )
        await producer.start()
        try:
            outbox = Outbox(lambda: producer)
            submitted = []
            for flush in range(4):
                for n in range(60):
                    outbox.add(topic, None, f"{flush}:{n}:".encode() + value, partition=n % 2)
                submitted.append(await outbox.submit())
            counts = [await settle(submissions) for submissions in submitted]
        finally:
            await producer.stop()
        return await read_all(test_settings.bootstrap, topic, 2), counts

    got, counts = asyncio.run(run())
    assert all(count >= 2 * 2 for count in counts)  # every flush: at least two record batches per partition
    for partition, records in got.items():
        order = [tuple(int(part) for part in value.split(b":")[:2]) for _, value, _ in records]
        assert order == [(flush, n) for flush in range(4) for n in range(60) if n % 2 == partition]


async def test_record_batches_keep_order_headers_and_timestamps_across_full_batches() -> None:
    producer = AIOKafkaProducer(bootstrap_servers="127.0.0.1:1", max_batch_size=1024)  # never started
    records: list[Record] = [
        (b"k%d" % i, b"v" * 100, [("h", b"%d" % i)] if i % 3 == 0 else None, 1_000 + i) for i in range(25)
    ]
    records.append((b"now", b"v", None, None))
    batches = record_batches(producer, records)
    assert len(batches) > 1 and sum(count for _, count in batches) == len(records)
    read = []
    for batch, count in batches:
        inside = list(DefaultRecordBatch(bytes(batch._build())))
        assert len(inside) == count
        read += inside
    assert [(r.key, r.value, list(r.headers), r.timestamp) for r in read[:-1]] == [
        (key, value, headers or [], ts) for key, value, headers, ts in records[:-1]
    ]
    assert read[-1].key == b"now" and read[-1].timestamp > 1_000_000_000_000  # the client's clock
