"""The API's Kafka traffic: produce events and catalog records, and read one partition or a whole topic.

One producer per worker, started on first use (acks=all, so a 202 means the broker has the events).
Reads use their own short-lived consumer with no group, so they never disturb the worker's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from engine.types import Event

Record = tuple[bytes | None, bytes | None, int]  # key, value, record timestamp (ms)


class KafkaGateway:
    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def producer(self) -> AIOKafkaProducer:
        async with self._lock:
            if self._producer is None:
                producer = AIOKafkaProducer(
                    bootstrap_servers=self.bootstrap, acks="all", enable_idempotence=True, linger_ms=2
                )
                await producer.start()
                self._producer = producer
            return self._producer

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def send_events(self, topic: str, events: list[Event]) -> None:
        """Every event keyed by its contact, all acknowledged before returning."""
        producer = await self.producer()
        futures = [
            await producer.send(topic, key=e["contact_id"].encode(), value=orjson.dumps(e)) for e in events
        ]
        await asyncio.gather(*futures)

    async def send_records(self, topic: str, records: Iterable[tuple[bytes, bytes]]) -> None:
        producer = await self.producer()
        futures = [await producer.send(topic, key=key, value=value) for key, value in records]
        await asyncio.gather(*futures)

    async def send_dead_letter(
        self, topic: str, key: bytes | None, value: bytes, headers: list[tuple[str, bytes]]
    ) -> None:
        """One refused request or message, kept with its reason headers, acknowledged before returning."""
        producer = await self.producer()
        await (await producer.send(topic, key=key, value=value, headers=headers))

    @staticmethod
    async def _partitions(consumer: AIOKafkaConsumer, topic: str, tries: int = 10) -> list[int]:
        """The topic's partitions. A metadata refresh can come back without the topic on a busy broker;
        reading that as "no partitions" would report a stored contact as unknown, so it is asked again."""
        for attempt in range(tries):
            await consumer._client.force_metadata_update()
            found = consumer.partitions_for_topic(topic)
            if found:
                return sorted(found)
            if attempt + 1 < tries:
                await asyncio.sleep(0.3)
        return []

    async def read(self, topic: str, partition: int | None = None, key: bytes | None = None) -> list[Record]:
        """Records of one partition (or all) from the beginning to the end seen at the start; only those
        with `key` when one is given."""
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False, group_id=None)
        await consumer.start()
        out: list[Record] = []
        try:
            known = await self._partitions(consumer, topic)
            chosen = known if partition is None else [p for p in known if p == partition]
            tps = [TopicPartition(topic, p) for p in chosen]
            if not tps:
                return out
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            ends = await consumer.end_offsets(tps)
            pending = {tp for tp in tps if ends[tp] > 0}
            while pending:
                batch: dict[Any, Any] = await consumer.getmany(*pending, timeout_ms=1000, max_records=5000)
                for tp, records in batch.items():
                    out.extend(
                        (r.key, r.value, r.timestamp)
                        for r in records
                        if r.offset < ends[tp] and (key is None or r.key == key)
                    )
                for tp in list(pending):
                    if await consumer.position(tp) >= ends[tp]:
                        pending.discard(tp)
        finally:
            await consumer.stop()
        return out
