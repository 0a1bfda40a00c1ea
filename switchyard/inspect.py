"""Read topics as they stand now, from the beginning to their current end (for the CLI, demo and tests).

This sees what the workers have durably written, without asking a running worker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from dataclasses import dataclass

from aiokafka import TopicPartition

from engine.types import ContactState
from switchyard.kafka_tools import metadata_consumer
from tables.codec import decode_state
from tables.contacts import CONTACTS_TABLE


@dataclass(frozen=True)
class Record:
    key: bytes | None
    value: bytes | None
    headers: dict[str, bytes]
    partition: int
    offset: int
    timestamp: int


def changelog_topic(app_id: str, table: str) -> str:
    """Faust's naming rule for a table's changelog topic."""
    return f"{app_id}-{table}-changelog"


async def read_to_end(bootstrap: str, topic: str) -> list[Record]:
    """Every record of every partition of `topic`, up to the end offsets seen at the start."""
    out: list[Record] = []
    async with metadata_consumer(bootstrap) as consumer:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        if not tps:
            return out
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        pending = {tp for tp in tps if ends[tp] > 0}
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=1000, max_records=5000)
            for tp, records in batch.items():
                out.extend(
                    Record(r.key, r.value, dict(r.headers), tp.partition, r.offset, r.timestamp)
                    for r in records
                    if r.offset < ends[tp]
                )
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
    return out


def latest_by_key(records: list[Record], keys: Collection[bytes] | None = None) -> dict[bytes, bytes]:
    """A compacted view: the last value per key, tombstones removing it."""
    latest: dict[bytes, bytes] = {}
    for record in records:
        if record.key is None or (keys is not None and record.key not in keys):
            continue
        if record.value is None:
            latest.pop(record.key, None)
        else:
            latest[record.key] = record.value
    return latest


def read_contacts(
    bootstrap: str, app_id: str, contact_ids: Collection[str] | None = None
) -> dict[str, ContactState]:
    keys = None if contact_ids is None else {c.encode() for c in contact_ids}
    records = asyncio.run(read_to_end(bootstrap, changelog_topic(app_id, CONTACTS_TABLE)))
    return {key.decode(): decode_state(value) for key, value in latest_by_key(records, keys).items()}


def read_dead_letters(bootstrap: str, topic: str) -> list[Record]:
    return asyncio.run(read_to_end(bootstrap, topic))
