"""Producing the sinks' records (outcome events, dead letters, task rows) to Kafka, and waiting for them."""

from __future__ import annotations

import asyncio
import logging

import orjson
from aiokafka import AIOKafkaProducer

from engine.topics import DEAD_LETTER_MAX_BYTES
from sinks.records import OutRecord

log = logging.getLogger(__name__)
PRODUCE_RETRY_S = 1.0


class Output:
    """One producer shared by every channel runner of the process."""

    def __init__(self, bootstrap: str, topic_prefix: str) -> None:
        self.prefix = topic_prefix
        self.bootstrap = bootstrap
        self._producer: AIOKafkaProducer | None = None

    @property
    def producer(self) -> AIOKafkaProducer:
        assert self._producer is not None, "start() first"
        return self._producer

    async def start(self) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap, acks="all", linger_ms=2, max_request_size=DEAD_LETTER_MAX_BYTES
        )  # a dead letter may be larger than Kafka's default limit: its topic takes it (engine/topics.py)
        await self._producer.start()

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()

    async def send_all(self, records: list[OutRecord]) -> None:
        """Send and wait until Kafka has every record; on failure keep trying (the outcome is stored,
        so the records are the same every time)."""
        while True:
            try:
                futures = [
                    await self.producer.send(
                        self.prefix + record.topic, value=orjson.dumps(record.value), key=record.key.encode()
                    )
                    for record in records
                ]
                await asyncio.gather(*futures)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a broker that is away: wait and send again
                log.warning("producing %d record(s) failed, retrying: %s", len(records), exc)
                await asyncio.sleep(PRODUCE_RETRY_S)
