"""A compacted topic followed for the life of a process: a global table kept by a plain reader.

Every process reads the whole topic with its own consumer (no consumer group), from the beginning, and
keeps following it; each record is handed to `apply(key, value)` (value None: a tombstone). `loaded` is
set once the topic has been read to the end it had when the reader started (or at once when the topic
does not exist yet; `on_loaded` runs just before). A reader that fails, or stays behind the topic's end
without moving, is started again with a growing pause (a fresh topic's first offset requests can fail
with NotLeaderForPartition), so a record written after start-up always arrives.

Why not Faust's GlobalTable: it hangs the partition assignment at start-up here, and its upstream issues
(faust-streaming #283) report workers that see only part of a global table; a plain reader is simpler.
Used by the worker's workflow catalog (agents/definitions.py) and the sinks' consent view.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition

log = logging.getLogger("switchyard.follower")
RETRY_FIRST_S, RETRY_MAX_S = 0.5, 10.0
MISSING_POLL_S = 1.0  # how often a reader looks for a topic that does not exist yet
STALL_CHECK_S = 5.0  # how often the reader checks that it keeps up with the topic
STEP_TIMEOUT_S = 10.0  # no single request of the reader may take longer; it is started again then
Apply = Callable[[bytes | None, bytes | None], None]


class TopicFollower:
    def __init__(
        self,
        bootstrap: str,
        topic: str,
        apply: Apply,
        on_loaded: Callable[[], object] | None = None,
        stall_check_s: float = STALL_CHECK_S,
    ) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.apply = apply
        self.on_loaded = on_loaded
        self.stall_check_s = stall_check_s
        self.loaded = asyncio.Event()
        self.records_read = 0

    def _mark_loaded(self) -> None:
        if self.on_loaded is not None:
            self.on_loaded()
        self.loaded.set()

    async def run(self) -> None:
        """Follow the topic for the life of the process. Any failure (a Kafka error, a reader that stopped
        making progress) restarts the read after a pause that grows up to `RETRY_MAX_S`; never silently."""
        failures = 0
        while True:
            try:
                await self._follow()
            except asyncio.CancelledError:
                raise
            except TopicMissing:  # nobody has published yet: look again soon, quietly
                await asyncio.sleep(MISSING_POLL_S)
            except Exception as exc:  # e.g. NotLeaderForPartition just after the topic was created
                failures += 1
                delay = min(RETRY_MAX_S, RETRY_FIRST_S * 2 ** (failures - 1))
                log.warning("reading %s failed (%s: %s); reading it again in %.1f s",
                            self.topic, type(exc).__name__, exc, delay)  # fmt: skip
                await asyncio.sleep(delay)
            else:
                failures = 0

    async def _follow(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, enable_auto_commit=False, group_id=None,
            auto_offset_reset="earliest",
            metadata_max_age_ms=5000,  # leadership of a topic created a moment ago settles within seconds
        )  # fmt: skip
        await asyncio.wait_for(consumer.start(), STEP_TIMEOUT_S)
        try:
            # Explicit offsets instead of the consumer's own reset: its reset of a partition whose leader
            # was not known yet retried a stale leader without refreshing metadata, and `position` waited
            # for it without end. Every step is bounded; a step that times out starts the reader again.
            tps = await asyncio.wait_for(self._partitions(consumer), STEP_TIMEOUT_S)
            # Both ends before the assignment: once assigned, the consumer's fetch of an empty partition
            # waits up to 500 ms on the broker, and an offset request queues behind it on the connection.
            starts = await asyncio.wait_for(consumer.beginning_offsets(tps), STEP_TIMEOUT_S)
            ends = await asyncio.wait_for(consumer.end_offsets(tps), STEP_TIMEOUT_S)
            consumer.assign(tps)
            for tp in tps:
                consumer.seek(tp, starts[tp])
            watch = Progress(tps, time.monotonic(), self.stall_check_s)
            while True:
                # Checked before each fetch: an empty topic, or one read to its end, is loaded without
                # waiting out a fetch that has nothing to return.
                positions = {tp: await asyncio.wait_for(consumer.position(tp), STEP_TIMEOUT_S) for tp in tps}
                if not self.loaded.is_set() and all(positions[tp] >= ends[tp] for tp in tps):
                    self._mark_loaded()
                    log.info("%s read to its end: %d record(s)", self.topic, self.records_read)
                if watch.due(time.monotonic()):
                    latest = await asyncio.wait_for(consumer.end_offsets(tps), STEP_TIMEOUT_S)
                    watch.check(positions, latest, time.monotonic())
                batch = await consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    for record in records:
                        self.apply(record.key, record.value)
                        self.records_read += 1
        finally:
            await consumer.stop()

    async def _partitions(self, consumer: AIOKafkaConsumer) -> list[TopicPartition]:
        """The topic's partitions; TopicMissing while it does not exist."""
        await consumer._client.force_metadata_update()  # see agents/topic_reader.metadata_consumer
        partitions = consumer.partitions_for_topic(self.topic)
        if not partitions:
            if not self.loaded.is_set():  # no topic at all: there is nothing to wait for
                self._mark_loaded()
            raise TopicMissing(self.topic)
        return [TopicPartition(self.topic, p) for p in sorted(partitions)]


class TopicMissing(RuntimeError):
    """The topic does not exist (yet)."""


class ReaderStalled(RuntimeError):
    """The topic's reader is not getting anywhere: it is started again."""


class Progress:
    """Notices a reader whose position stays behind the end of the log without moving."""

    def __init__(self, tps: list[TopicPartition], now: float, every_s: float = STALL_CHECK_S) -> None:
        self.every_s = every_s
        self.next_at = now + every_s
        self.last: dict[TopicPartition, int] = {}
        self.tps = tps

    def due(self, now: float) -> bool:
        return now >= self.next_at

    def check(
        self, positions: dict[TopicPartition, int], ends: dict[TopicPartition, int], now: float
    ) -> None:
        """Raise ReaderStalled if a partition is behind its end and has not moved since the last check."""
        self.next_at = now + self.every_s
        stuck = [tp for tp in self.tps
                 if positions[tp] < ends[tp] and self.last.get(tp) == positions[tp]]  # fmt: skip
        self.last = dict(positions)
        if stuck:
            tp = stuck[0]
            raise ReaderStalled(f"{tp.topic}[{tp.partition}] stays at {positions[tp]} of {ends[tp]}")
