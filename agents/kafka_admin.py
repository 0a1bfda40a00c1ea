"""Small Kafka admin chores used by the CLI, the demo, tests and benchmarks: topics, offsets, lag."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping
from contextlib import suppress
from typing import Any

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, UnknownTopicOrPartitionError

from agents.settings import Settings
from agents.topic_reader import metadata_consumer, topic_end_offsets
from agents.topics import (
    CONSENT,
    EVENTS_DLQ,
    RECOMMENDATIONS,
    WORKFLOWS,
    all_topic_names,
)
from engine.topics import DEAD_LETTER_CONFIG


async def topic_names(bootstrap: str) -> set[str]:
    """The topics the broker lists."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


async def create_topics(
    bootstrap: str,
    names: Iterable[str],
    partitions: int,
    compact: bool = False,
    configs: Mapping[str, str] | None = None,
) -> None:
    """Create those of `names` that do not exist yet, with `configs` (and compaction when `compact`)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        topic_configs = {**(configs or {}), **({"cleanup.policy": "compact"} if compact else {})}
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(name=n, num_partitions=partitions, replication_factor=1, topic_configs=topic_configs)
            for n in names
            if n not in existing
        ]
        if wanted:
            with suppress(TopicAlreadyExistsError):
                await admin.create_topics(wanted)
    finally:
        await admin.close()


async def delete_topics(bootstrap: str, names: Iterable[str], timeout: float = 30.0) -> None:
    """Delete those of `names` that exist, and return once the broker no longer lists them.

    Deletion completes after the broker has answered; a topic created again before that can lose what is
    written to it with the old one (the demo's first run after a broker start once lost its workflows)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        doomed = {n for n in names if n in existing}
        if doomed:
            with suppress(UnknownTopicOrPartitionError):
                await admin.delete_topics(sorted(doomed))
        deadline = time.monotonic() + timeout
        while doomed:
            doomed &= set(await admin.list_topics())
            if not doomed:
                break
            if time.monotonic() >= deadline:
                raise TimeoutError(f"topics still listed {timeout:.0f} s after deletion: {sorted(doomed)}")
            await asyncio.sleep(0.2)
    finally:
        await admin.close()


async def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    """Partition -> end offset of ``topic`` ({} when the broker does not list it)."""
    async with metadata_consumer(bootstrap) as consumer:
        return {tp.partition: end for tp, end in (await topic_end_offsets(consumer, topic)).items()}


async def committed_offsets(bootstrap: str, group: str) -> dict[TopicPartition, Any]:
    """The offsets consumer group `group` has committed (OffsetAndMetadata per topic partition)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return dict(await admin.list_consumer_group_offsets(group))
    finally:
        await admin.close()


async def group_lag(bootstrap: str, group: str, topic: str) -> int:
    """Records of `topic` that consumer group `group` has not committed yet."""
    committed = await committed_offsets(bootstrap, group)
    ends = await end_offsets(bootstrap, topic)
    lag = 0
    for partition, end in ends.items():
        meta = committed.get(TopicPartition(topic, partition))
        done = meta.offset if meta is not None and meta.offset >= 0 else 0
        lag += max(0, end - done)
    return lag


async def wait_for_lag_zero(bootstrap: str, group: str, topic: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await group_lag(bootstrap, group, topic) == 0:
            return True
        await asyncio.sleep(0.5)
    return False


async def ensure_worker_topics(settings: Settings) -> None:
    """Every topic up front, with the worker's partition count: one auto-created by a producer could get
    another count, and Faust refuses a table whose changelog does not match its source topic. The
    workflow catalog is one compacted partition; the consent view is compacted, keyed by contact; the API
    records shown/applied/dismissed recommendations on `recommendations`."""
    dead_letters = [settings.topic(EVENTS_DLQ)]
    await create_topics(settings.bootstrap, dead_letters, settings.partitions, configs=DEAD_LETTER_CONFIG)
    await create_topics(settings.bootstrap, all_topic_names(settings.topic_prefix), settings.partitions)
    await create_topics(settings.bootstrap, [settings.topic(RECOMMENDATIONS)], settings.partitions)
    await create_topics(settings.bootstrap, [settings.topic(WORKFLOWS)], 1, compact=True)
    await create_topics(settings.bootstrap, [settings.topic(CONSENT)], settings.partitions, compact=True)
