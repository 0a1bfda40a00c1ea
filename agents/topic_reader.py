"""Read a topic as it stands now: every record from the beginning to the end offsets seen at the start.

One reader for the API (a contact's changelog, a partition's step records), the dead-letter replay, the CLI,
the demo and the benchmarks. It uses a consumer of its own with no group, so it never moves a worker's
offsets, and it stops at the ends it saw first, so a topic that keeps growing still gives a finite answer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

METADATA_RETRY_S = 0.3
KNOWN_TOPIC_WAIT_S = 3.0  # for a topic the caller knows exists, or is about to (`topic_partitions`)


@dataclass(frozen=True)
class Record:
    key: bytes | None
    value: bytes | None
    headers: dict[str, bytes]
    partition: int
    offset: int
    timestamp: int  # the record's timestamp, ms


@asynccontextmanager
async def metadata_consumer(bootstrap: str, **config: Any) -> AsyncIterator[AIOKafkaConsumer]:
    """A started consumer that already knows every topic's partitions; stopped on exit."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, **config)
    await consumer.start()
    try:
        # aiokafka has no public call that refreshes the metadata partitions_for_topic() reads; with no
        # subscription, this refresh asks for every topic.
        await consumer._client.force_metadata_update()
        yield consumer
    finally:
        await consumer.stop()


async def topic_partitions(consumer: AIOKafkaConsumer, topic: str, wait_s: float = 0.0) -> list[int]:
    """The topic's partitions, [] when the consumer's metadata does not list it. A topic created a moment
    ago can be missing from a busy broker's metadata for a while; a caller that knows the topic exists
    (the API reading what the worker writes) gives ``wait_s`` to have the metadata asked for again until
    then. An absent topic costs that wait, so the default is none."""
    deadline = time.monotonic() + wait_s
    while True:
        found = consumer.partitions_for_topic(topic)
        if found:
            return sorted(found)
        if time.monotonic() + METADATA_RETRY_S > deadline:
            return []
        await asyncio.sleep(METADATA_RETRY_S)
        await consumer._client.force_metadata_update()


async def topic_end_offsets(
    consumer: AIOKafkaConsumer, topic: str, wait_s: float = 0.0
) -> dict[TopicPartition, int]:
    """The end offset of every partition of ``topic`` ({} when absent; ``wait_s`` as in
    ``topic_partitions``), through a consumer with nothing assigned: for a partition assigned without a
    position the request would wait behind the consumer's fetcher."""
    tps = [TopicPartition(topic, p) for p in await topic_partitions(consumer, topic, wait_s)]
    ends: dict[TopicPartition, int] = await consumer.end_offsets(tps) if tps else {}
    return ends


async def read_batches(
    bootstrap: str,
    topic: str,
    partition: int | None = None,
    key: bytes | None = None,
    start: Mapping[int, int] | None = None,
    wait_for_topic_s: float = 0.0,
) -> AsyncGenerator[list[Record], None]:
    """The records of ``topic`` as they are fetched, a list at a time (a reader of a large topic need not
    hold it all): of one ``partition`` when given, only those with ``key`` when given, from offsets
    ``start`` on (partition -> offset; from the beginning without it), up to the end offsets seen at the
    start. In offset order within each partition. ``wait_for_topic_s``: see `topic_partitions`."""
    since = start or {}
    async with metadata_consumer(bootstrap) as consumer:
        known = await topic_partitions(consumer, topic, wait_for_topic_s)
        tps = [TopicPartition(topic, p) for p in known if partition is None or p == partition]
        if not tps:
            return
        consumer.assign(tps)
        # Positions first: an offsets request made while an assigned partition has none waits behind the
        # fetcher (0.5 s, and as long again for the first fetch).
        await consumer.seek_to_beginning(*tps)
        firsts = await consumer.beginning_offsets(tps)  # past 0 once retention or compaction removed some
        ends = await consumer.end_offsets(tps)
        pending: set[TopicPartition] = set()
        for tp in tps:
            begin = max(firsts[tp], since.get(tp.partition, 0))
            if ends[tp] > begin:
                if begin > firsts[tp]:
                    consumer.seek(tp, begin)
                pending.add(tp)
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=1000, max_records=10_000)
            for tp, records in batch.items():
                end = ends[tp]
                yield [
                    Record(r.key, r.value, dict(r.headers), tp.partition, r.offset, r.timestamp)
                    for r in records
                    if r.offset < end and (key is None or r.key == key)
                ]
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)


async def read_to_end(
    bootstrap: str,
    topic: str,
    partition: int | None = None,
    key: bytes | None = None,
    start: Mapping[int, int] | None = None,
    wait_for_topic_s: float = 0.0,
) -> list[Record]:
    """Every record of `read_batches`, in one list."""
    batches = read_batches(bootstrap, topic, partition, key, start, wait_for_topic_s)
    return [record async for batch in batches for record in batch]
