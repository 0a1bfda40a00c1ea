"""One channel's consumer loop: read ``actions.<channel>``, run actions concurrently, commit safely.

- consumer group ``<app_id>-sink-<channel>``, manual commits of the contiguous finished prefix only;
- up to ``in_flight_per_partition`` actions of a partition run at once; a partition whose window is full
  is paused (its further records wait in a small backlog) and resumed when a slot frees, so one action
  that is retrying holds back its partition only once the window is full of such, for at most the
  bounded retry time;
- the actions of one contact run in the order they arrived (a later one waits for the earlier one);
- a record the sink cannot handle at all (one that makes the executor raise, or whose outcome records
  cannot be written) goes to `actions.dlq` with reason `sink_error` and the partition goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import deque

import orjson
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import CommitFailedError, KafkaError

from sinks.attempts import ActionExecutor, wall_ms
from sinks.channels import DLQ_TOPIC, action_topic
from sinks.group import group_timeouts
from sinks.output import Output
from sinks.progress import PartitionProgress
from sinks.records import OutRecord, dead_letter, raw_text
from sinks.settings import SinkSettings

log = logging.getLogger(__name__)
POLL_MS = 100


class ChannelRunner:
    def __init__(
        self, settings: SinkSettings, channel: str, executor: ActionExecutor, output: Output
    ) -> None:
        self.settings = settings
        self.channel = channel
        self.executor = executor
        self.output = output
        self.window = settings.in_flight_per_partition
        self.progress = PartitionProgress()
        self.backlog: dict[TopicPartition, deque[ConsumerRecord[bytes, bytes]]] = {}
        self.tasks: dict[TopicPartition, set[asyncio.Task[None]]] = {}
        self.last_of_contact: dict[tuple[TopicPartition, bytes | None], asyncio.Task[None]] = {}
        self.consumer: AIOKafkaConsumer | None = None
        self.ready = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.bootstrap,
            group_id=self.settings.group_id(self.channel),
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=500,
            **group_timeouts(self.settings.session_timeout_s),
        )
        self.consumer = consumer
        consumer.subscribe([self.settings.topic(action_topic(self.channel))], listener=_Listener(self))
        await consumer.start()
        loop = asyncio.get_running_loop()
        next_commit = loop.time()
        self.ready.set()
        try:
            while not stop.is_set():
                batch = await consumer.getmany(timeout_ms=POLL_MS)
                for tp, records in batch.items():
                    queue = self.backlog.setdefault(tp, deque())
                    for record in records:
                        self.progress.seen(tp, record.offset)
                        queue.append(record)
                    self._fill(tp)
                self._pause_or_resume()
                if loop.time() >= next_commit:
                    await self._commit()
                    next_commit = loop.time() + self.settings.commit_interval_s
        finally:
            await self._abandon(list(self.tasks))
            await self._commit()
            await consumer.stop()

    # -- in-flight window ----------------------------------------------------------------------------

    def _fill(self, tp: TopicPartition) -> None:
        queue = self.backlog.get(tp)
        running = self.tasks.setdefault(tp, set())
        while queue and len(running) < self.window:
            record = queue.popleft()
            previous = self.last_of_contact.get((tp, record.key))
            task = asyncio.create_task(self._process(tp, record, previous))
            running.add(task)
            self.last_of_contact[(tp, record.key)] = task
            task.add_done_callback(functools.partial(self._finished, tp, record.key))

    def _finished(self, tp: TopicPartition, key: bytes | None, task: asyncio.Task[None]) -> None:
        running = self.tasks.get(tp)
        if running is None or task not in running:
            return  # the partition was revoked meanwhile
        running.discard(task)
        if (
            not task.cancelled() and task.exception() is not None
        ):  # the offset stays uncommitted: redone later
            log.error("%s: action failed unexpectedly", self.channel, exc_info=task.exception())
        if self.last_of_contact.get((tp, key)) is task:
            del self.last_of_contact[(tp, key)]
        self._fill(tp)

    def _pause_or_resume(self) -> None:
        assert self.consumer is not None
        assigned = self.consumer.assignment()
        full = [tp for tp in assigned if self.backlog.get(tp)]
        free = [tp for tp in assigned if not self.backlog.get(tp)]
        if full:
            self.consumer.pause(*full)
        paused = self.consumer.paused()
        resumable = [tp for tp in free if tp in paused]
        if resumable:
            self.consumer.resume(*resumable)

    async def _process(
        self, tp: TopicPartition, record: ConsumerRecord[bytes, bytes], previous: asyncio.Task[None] | None
    ) -> None:
        if previous is not None and not previous.done():
            await asyncio.wait([previous])
        try:
            records = await self.executor.execute(record.key, record.value)
            for out in records:
                orjson.dumps(out.value)  # one Kafka could never take must not hold up the partition
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a data problem: the record is dead-lettered, the partition goes on
            log.exception(
                "%s: record %s:%d cannot be handled; dead-lettered", self.channel, tp, record.offset
            )
            records = [unhandled(record, f"{type(exc).__name__}: {exc}")]
        if records:
            await self.output.send_all(with_source(records, record))
        self.progress.finished(tp, record.offset)

    # -- commits and rebalances ----------------------------------------------------------------------

    async def _commit(self) -> None:
        assert self.consumer is not None
        assigned = self.consumer.assignment()
        offsets = {tp: offset for tp, offset in self.progress.to_commit().items() if tp in assigned}
        if not offsets:
            return
        try:
            await self.consumer.commit(offsets)
        except (CommitFailedError, KafkaError) as exc:  # a rebalance under way: the next owner redoes
            log.warning("%s: commit failed: %s", self.channel, exc)
            return
        self.progress.committed(offsets)

    async def _abandon(self, tps: list[TopicPartition]) -> None:
        """Stop working on partitions we are losing; their unfinished actions are delivered again.
        The backlog and the task sets go first: a cancelled task's callback must find nothing to start."""
        for tp in tps:
            self.backlog.pop(tp, None)
        doomed = [task for tp in tps for task in self.tasks.pop(tp, ())]
        self.last_of_contact = {k: t for k, t in self.last_of_contact.items() if k[0] not in tps}
        for task in doomed:
            task.cancel()
        if doomed:
            await asyncio.gather(*doomed, return_exceptions=True)

    async def on_revoked(self, revoked: set[TopicPartition]) -> None:
        tps = list(revoked)
        await self._abandon(tps)
        with contextlib.suppress(Exception):
            await self._commit()
        self.progress.forget(tps)


def unhandled(record: ConsumerRecord[bytes, bytes], error: str) -> OutRecord:
    """The dead letter of a record the sink could not handle: its bytes as text (where it came from is
    added by `with_source`)."""
    key = (record.key or b"").decode("utf-8", "replace")
    return OutRecord(DLQ_TOPIC, key, dead_letter(raw_text(record.value), 0, error, wall_ms(), "sink_error"))


def with_source(records: list[OutRecord], record: ConsumerRecord[bytes, bytes]) -> list[OutRecord]:
    """``records`` with every dead letter naming the record it came from: topic, partition and offset."""
    source = {"topic": record.topic, "partition": record.partition, "offset": record.offset}
    return [OutRecord(r.topic, r.key, {**r.value, **source}) if r.topic == DLQ_TOPIC else r for r in records]


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, runner: ChannelRunner) -> None:
        self.runner = runner

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self.runner.on_revoked(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        return None
