"""Warms a broker the load test has just started, before the run's clock starts.

A freshly started broker's JVM runs its produce and fetch paths unoptimised for its first seconds: the
worker's first deliveries of a run waited 40-100 ms for their acks, 3-7 ms once the broker had run for a
while. A broker in service is long past that, so a run on a broker started seconds before measures the
JVM's start-up, not Switchyard. The warm-up sends acknowledged batches while a consumer reads them back,
in the shape of the worker's traffic: many small batches over several partitions, each round one produce
request over three scratch topics shaped like the run's (plain like `events`, LogAppendTime like the
action topics, compacted and keyed like the table changelogs). The broker appends to each kind on its own
code path: warmed on the plain topic only, the worker's first batches still waited 20-36 ms for the
broker to append their actions and changelogs.

The scratch topics stay in the load-test broker and are never deleted: a deleted topic's files are removed
by the broker later (file.delete.delay.ms), which would land in the middle of the run. Their records are
small, so five seconds of warm-up stay within one segment per partition and the log cleaner has nothing
to compact during the run.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from agents.kafka_admin import create_topics

WARMUP_TOPIC = "switchyard-loadtest-warmup"  # plain; the one read back
RETENTION = {"retention.ms": str(10 * 60 * 1000)}
WARMUP_TOPICS: dict[str, dict[str, str]] = {
    WARMUP_TOPIC: RETENTION,
    f"{WARMUP_TOPIC}-appendtime": {**RETENTION, "message.timestamp.type": "LogAppendTime"},
    f"{WARMUP_TOPIC}-compacted": {"cleanup.policy": "compact"},
}
WARMUP_PARTITIONS = 8
RECORDS_PER_BATCH = 50
KEYS = 500  # the compacted topic refuses records without a key
RECORD = b"w" * 100


@dataclass(frozen=True)
class Warmup:
    seconds: float
    batches: int
    records_read: int
    first_ack_ms: float  # the slowest ack of the first batch round: how cold the broker was
    last_ack_ms: float  # the slowest ack of the last round

    def describe(self) -> str:
        return (
            f"broker warmed for {self.seconds:.1f} s: {self.batches} acknowledged batches, "
            f"{self.records_read} records read back; slowest ack {self.first_ack_ms:.0f} ms in the first "
            f"round, {self.last_ack_ms:.0f} ms in the last"
        )


async def warm_broker(bootstrap: str, seconds: float) -> Warmup:
    """Acknowledged produce rounds (one batch per topic and partition) and a reading consumer for
    ``seconds``."""
    for topic, configs in WARMUP_TOPICS.items():
        await create_topics(bootstrap, [topic], WARMUP_PARTITIONS, configs=configs)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)
    consumer = AIOKafkaConsumer(
        WARMUP_TOPIC, bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="latest"
    )
    await producer.start()
    await consumer.start()
    read = 0
    stop = asyncio.Event()

    async def reading() -> None:
        nonlocal read
        while not stop.is_set():
            fetched = await consumer.getmany(timeout_ms=100)
            read += sum(len(records) for records in fetched.values())

    reader = asyncio.create_task(reading())
    batches, first_ms, last_ms = 0, 0.0, 0.0
    started = time.monotonic()
    try:
        while time.monotonic() - started < seconds:
            round_started = time.monotonic()
            futures = []
            for topic in WARMUP_TOPICS:
                for partition in range(WARMUP_PARTITIONS):
                    batch = producer.create_batch()
                    for i in range(RECORDS_PER_BATCH):
                        key = b"k%d" % ((batches + i) % KEYS)
                        batch.append(key=key, value=RECORD, timestamp=None)
                    batch.close()
                    futures.append(await producer.send_batch(batch, topic, partition=partition))
            await asyncio.gather(*futures)
            slowest = (time.monotonic() - round_started) * 1000
            first_ms = first_ms if batches else slowest
            last_ms = slowest
            batches += len(futures)
    finally:
        stop.set()
        await reader
        await consumer.stop()
        await producer.stop()
    return Warmup(time.monotonic() - started, batches, read, first_ms, last_ms)
