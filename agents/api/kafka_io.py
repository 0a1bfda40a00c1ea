"""The API's Kafka traffic: produce events and catalog records, and read one partition or a whole topic.

One producer per worker, started on first use (acks=all, so a 202 means the broker has the events).
Reads use their own short-lived consumer with no group, so they never disturb the worker's.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Iterable

import orjson
from aiokafka import AIOKafkaProducer

from agents.topic_reader import KNOWN_TOPIC_WAIT_S, Record, read_batches, read_to_end
from engine.topics import DEAD_LETTER_MAX_BYTES
from engine.types import Event


class KafkaGateway:
    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def producer(self) -> AIOKafkaProducer:
        async with self._lock:
            if self._producer is None:
                producer = AIOKafkaProducer(
                    bootstrap_servers=self.bootstrap, acks="all", enable_idempotence=True, linger_ms=2,
                    max_request_size=DEAD_LETTER_MAX_BYTES,  # a refused body of 1 MiB, with its reasons
                )  # fmt: skip
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

    def read_batches(self, topic: str) -> AsyncGenerator[list[Record], None]:
        """As `read`, every partition, a fetch at a time (a reader that stops early reads no further)."""
        return read_batches(self.bootstrap, topic, wait_for_topic_s=KNOWN_TOPIC_WAIT_S)

    async def read(self, topic: str, partition: int | None = None, key: bytes | None = None) -> list[Record]:
        """Records of one partition (or all) from the beginning to the end seen at the start; only those
        with `key` when one is given. The topics read here are the worker's: one missing from the metadata
        was created a moment ago (read as absent, a stored contact would be reported unknown)."""
        return await read_to_end(self.bootstrap, topic, partition, key, wait_for_topic_s=KNOWN_TOPIC_WAIT_S)
