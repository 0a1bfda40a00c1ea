"""The analytics writer: Kafka (`events`, `analytics`, `actions.*`, `tasks`) to ClickHouse, in batches.

Loss and double counting:
- records are buffered column by column and inserted when the batch holds `batch_rows` rows or its
  oldest record is `batch_seconds` old;
- the consumer group's offsets are committed only after every insert of the batch was acknowledged, so a
  crash before the commit re-reads the batch, and the tables' natural ids make the second insert a no-op
  for every count (see sql/migrations/001_core_tables.sql);
- a ClickHouse outage pauses the consumer (it keeps its group membership) and retries the same batch with
  a capped exponential backoff; nothing is committed meanwhile, so a stop during the outage loses nothing;
- on a rebalance the buffered batch is dropped before any record of the new assignment is fetched, and the
  batch being inserted is not committed: both are read again from the committed offsets;
- a record that cannot become rows (a broken event, a record nested too deep ...) is dead-lettered to
  `analytics.dlq` with its original key and bytes and an `x-switchyard-reason` header, and the writer goes
  on; a step record of a pack that cannot is dead-lettered alone (its bytes, plus the header
  `x-switchyard-source-index`) while the pack's others are inserted; the dead letters of a batch are
  acknowledged by Kafka before its offsets are committed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition

from sinks.analytics.batch import ColumnBatch
from sinks.analytics.config import WriterConfig
from sinks.analytics.exceptions import StoreUnavailable, UnusableRecord
from sinks.analytics.gateway import StoreGateway
from sinks.analytics.records import Rejected, TableRows
from sinks.analytics.retry import outage_delay_s
from sinks.analytics.routing import TopicRouter
from sinks.analytics.store import AnalyticsStore
from sinks.analytics.tables import TABLE_COLUMNS, TABLES
from sinks.group import group_timeouts

log = logging.getLogger("switchyard.analytics")
READY_LINE = "analytics writer ready"
DLQ = "analytics.dlq"
# A dead letter keeps at most this much of its record (Kafka takes 1 MB a record, headers included); the
# record itself stays at the offset its headers name.
MAX_DEAD_LETTER_VALUE = 512 * 1024
Headers = list[tuple[str, bytes]]


@dataclass
class WriterStats:
    """Counters for /health and the logs."""

    batches: int = 0
    records: int = 0
    skipped: int = 0  # dead-lettered, by reason in `dead_letters`
    dead_letters: dict[str, int] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TABLES, 0))
    failed_attempts: int = 0
    discarded_batches: int = 0
    last_error: str = ""
    in_outage: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "batches": self.batches, "records": self.records, "skipped": self.skipped,
            "dead_letters": dict(self.dead_letters),
            "rows": dict(self.rows),
            "failed_attempts": self.failed_attempts, "discarded_batches": self.discarded_batches,
            "last_error": self.last_error, "in_outage": self.in_outage,
        }  # fmt: skip


def insert_batch(store: AnalyticsStore, batch: ColumnBatch) -> None:
    for table in TABLES:
        if batch.rows(table):
            store.insert_columns(table, TABLE_COLUMNS[table], batch.columns[table])


class _RevokeListener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, writer: AnalyticsWriter) -> None:
        self.writer = writer

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        self.writer.drop_batch("partitions revoked")

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        log.info("analytics writer assigned %d partition(s)", len(list(assigned)))


class AnalyticsWriter:
    def __init__(self, config: WriterConfig, gateway: StoreGateway) -> None:
        self.config = config
        self.gateway = gateway
        self.router = TopicRouter(config.topic_prefix, config.max_event_bytes)
        self.batch = ColumnBatch()
        self.generation = 0  # bumped by a rebalance: a batch of an older generation is never committed
        self.stats = WriterStats()
        self.consumer: AIOKafkaConsumer | None = None
        self.producer: AIOKafkaProducer | None = None
        self.dead: list[tuple[bytes | None, bytes | None, Headers]] = []  # the buffered batch's dead letters
        self.ready = asyncio.Event()

    def drop_batch(self, why: str) -> None:
        """Forget the buffered records (they were not committed, so they will be read again)."""
        self.generation += 1
        self.dead = []
        if self.batch.records:
            self.stats.discarded_batches += 1
            log.info("dropping %d buffered record(s): %s", self.batch.records, why)
        self.batch = ColumnBatch()

    async def run(self, stop: asyncio.Event) -> None:
        await self._wait_for_store(stop)
        if stop.is_set():
            return
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.config.bootstrap,
            group_id=self.config.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            metadata_max_age_ms=5000,  # a topic created later (e.g. `tasks`) is picked up within seconds
            max_partition_fetch_bytes=4 * 1024 * 1024,
            **group_timeouts(self.config.session_timeout_s),
        )
        consumer.subscribe(pattern=self.router.pattern(), listener=_RevokeListener(self))
        self.producer = AIOKafkaProducer(bootstrap_servers=self.config.bootstrap, acks="all")
        await self.producer.start()
        await consumer.start()
        self.consumer = consumer
        log.info("%s: group %s, pattern %s", READY_LINE, self.config.group_id, self.router.pattern())
        self.ready.set()
        try:
            while not stop.is_set():
                polled = await consumer.getmany(
                    timeout_ms=self._poll_timeout_ms(), max_records=self.config.batch_rows
                )
                self._buffer(polled)
                if self.batch.is_due(time.monotonic(), self.config.batch_rows, self.config.batch_seconds):
                    await self._flush(stop)
            if self.batch.records:
                await self._flush(stop, final=True)
        finally:
            await consumer.stop()
            await self.producer.stop()

    async def _wait_for_store(self, stop: asyncio.Event) -> None:
        """Connect and migrate before consuming; an outage at start waits here."""
        attempt = 0
        while not stop.is_set():
            try:
                await self.gateway.run(lambda store: None)
                return
            except StoreUnavailable as exc:
                attempt += 1
                delay = outage_delay_s(attempt, self.config.retry_initial_s, self.config.retry_max_s)
                log.warning("ClickHouse unavailable at start (%s); retrying in %.1fs", exc, delay)
                self.stats.last_error = str(exc)
                await _sleep_unless(stop, delay)

    def _poll_timeout_ms(self) -> int:
        if not self.batch.records:
            return int(self.config.batch_seconds * 1000)
        left = self.config.batch_seconds - self.batch.age(time.monotonic())
        return max(1, int(left * 1000))

    def _buffer(self, polled: dict[TopicPartition, list[Any]]) -> None:
        now = time.monotonic()
        for tp, messages in polled.items():
            for message in messages:
                rows: TableRows = []
                try:
                    rows, rejected = self.router.rows(message)
                except UnusableRecord as exc:
                    self._dead_letter(message, exc.reason, str(exc))
                except Exception as exc:  # a record no decoder foresaw must not stop the writer either
                    self._dead_letter(message, "unusable_record", f"{type(exc).__name__}: {exc}")
                else:
                    for part in rejected:  # the pack's other values become rows
                        self._dead_letter(message, part.problem.reason, str(part.problem), part)
                self.batch.add(tp.topic, tp.partition, message.offset, rows, now)

    def _dead_letter(self, message: Any, reason: str, detail: str, part: Rejected | None = None) -> None:
        where = f"{message.topic}:{message.partition}:{message.offset}" + (f"[{part.slot}]" if part else "")
        log.warning("dead-lettering %s (%s): %s", where, reason, detail[:200])
        self.stats.skipped += 1
        self.stats.dead_letters[reason] = self.stats.dead_letters.get(reason, 0) + 1
        headers = [
            ("x-switchyard-reason", reason.encode()),
            ("x-switchyard-detail", detail[:1000].encode("utf-8", "replace")),
            ("x-switchyard-source-topic", str(message.topic).encode()),
            ("x-switchyard-source-partition", str(message.partition).encode()),
            ("x-switchyard-source-offset", str(message.offset).encode()),
        ]
        if part is not None:
            headers.append(("x-switchyard-source-index", str(part.slot).encode()))
        value = part.value if part else message.value
        if value is not None and len(value) > MAX_DEAD_LETTER_VALUE:
            headers.append(("x-switchyard-truncated-from", str(len(value)).encode()))
            value = value[:MAX_DEAD_LETTER_VALUE]
        # Kafka takes no record without both key and value: a null record's dead letter gets an empty key
        key = message.key if message.key is not None or value is not None else b""
        self.dead.append((key, value, headers))

    async def _send_dead_letters(self, stop: asyncio.Event) -> bool:
        """Produce the batch's dead letters and wait for Kafka; False if stopped before it took them."""
        assert self.producer is not None
        attempt = 0
        while self.dead:
            try:
                topic = self.config.topic_prefix + DLQ
                sent = [await self.producer.send(topic, key=k, value=v, headers=h) for k, v, h in self.dead]
                await asyncio.gather(*sent)
                self.dead = []
            except Exception as exc:  # the broker is away: the batch is not committed until it takes them
                attempt += 1
                delay = outage_delay_s(attempt, self.config.retry_initial_s, self.config.retry_max_s)
                log.warning("dead letters not delivered (%s); retrying in %.1fs", exc, delay)
                await _sleep_unless(stop, delay)
                if stop.is_set():
                    return False
        return True

    async def _flush(self, stop: asyncio.Event, final: bool = False) -> None:
        batch, generation = self.batch, self.generation
        attempt = 0
        while True:
            try:
                await self.gateway.run(lambda store: insert_batch(store, batch))
                break
            except StoreUnavailable as exc:
                attempt += 1
                self.stats.failed_attempts += 1
                self.stats.last_error = str(exc)
                self.stats.in_outage = True
                if final or stop.is_set():
                    log.warning(
                        "stopping with %d uncommitted record(s); they will be read again", batch.records
                    )
                    return
                delay = outage_delay_s(attempt, self.config.retry_initial_s, self.config.retry_max_s)
                log.warning(
                    "ClickHouse unavailable (attempt %d, %d records held, Kafka paused): %s; retry in %.1fs",
                    attempt, batch.records, exc, delay,
                )  # fmt: skip
                await self._paused_wait(delay, stop)
                if self.generation != generation:
                    return  # a rebalance dropped this batch; it will be read again
        if self.stats.in_outage:
            log.info("ClickHouse is back after %d failed attempt(s); resuming", attempt)
            self.stats.in_outage = False
        self.stats.batches += 1
        self.stats.records += batch.records
        for table, count in batch.row_counts().items():
            self.stats.rows[table] += count
        self._crash_if_asked()
        if self.generation != generation:
            return  # inserted but not committed: the re-read duplicates are deduplicated
        if not await self._send_dead_letters(stop) or self.generation != generation:
            return  # not committed: read again, inserted again (deduplicated), dead-lettered again
        await self._commit(batch)
        if self.batch is batch:
            self.batch = ColumnBatch()

    async def _commit(self, batch: ColumnBatch) -> None:
        assert self.consumer is not None
        offsets = {
            TopicPartition(topic, partition): offset
            for (topic, partition), offset in batch.next_offsets.items()
        }
        try:
            await self.consumer.commit(offsets)
        except Exception as exc:  # a rebalance in between: the batch is read again and deduplicated
            log.warning("offset commit failed (%s); %d record(s) will be read again", exc, batch.records)

    async def _paused_wait(self, delay: float, stop: asyncio.Event) -> None:
        """Wait out `delay` with every partition paused, still polling so the group keeps us."""
        assert self.consumer is not None
        consumer = self.consumer
        consumer.pause(*consumer.assignment())
        deadline = time.monotonic() + delay
        try:
            while not stop.is_set() and (left := deadline - time.monotonic()) > 0:
                polled = await consumer.getmany(timeout_ms=max(1, int(min(left, 0.5) * 1000)))
                self._buffer(polled)  # only from partitions assigned while we wait
                consumer.pause(*consumer.assignment())
        finally:
            consumer.resume(*consumer.assignment())

    def _crash_if_asked(self) -> None:
        limit = self.config.crash_after_inserts
        if limit is not None and self.stats.batches >= limit:
            log.warning(
                "test hook: SIGKILL after inserting batch %d, before committing it", self.stats.batches
            )
            logging.shutdown()
            os.kill(os.getpid(), signal.SIGKILL)


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        return
