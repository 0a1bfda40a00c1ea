"""A batch's outgoing Kafka records, handed to the producer as one record batch per topic partition.

A plain `send` per record costs a delivery future, a partitioner call and an accumulator append each; the
processor emits several records per event (actions, step records, state changelogs), so that per-record
cost was a large share of its time. Here records are collected while the batch is processed (no await per
record) and `flush` submits each topic partition's records as a few record batches. Order within a topic
partition is kept. A keyed record without an explicit partition goes where a plain send would put it
(the producer's default partitioner over the topic's partitions).

Records of a *packed* topic (the worker's `analytics`) are not sent one by one: at flush, those bound for
one topic partition are joined into packs (engine/packing.py), each one keyless record. Each value still
goes to the partition its key chooses, so a contact's values stay in one partition, in order.

`deliver` waits for every record batch and raises DeliveryFailed if any was not acknowledged, after all
have settled: nothing is only logged, and the caller must not commit the offsets of the batch that
produced them (agents/processor.py processes such a batch again). `submit` and `settle` are its two
halves, for a caller that has work to do while the records travel.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Collection, Iterable
from typing import Any

from aiokafka.partitioner import DefaultPartitioner

from agents.exceptions import DeliveryFailed
from engine.packing import pack

log = logging.getLogger("switchyard.outbox")

Headers = list[tuple[str, bytes]]
Record = tuple[bytes | None, bytes | None, Headers | None, int | None]  # key, value, headers, timestamp ms
Submission = asyncio.Future[list[asyncio.Future[Any]]]  # a topic partition's record batches, handed over
Delivered = Callable[[int, int], None]  # (partition, offset of the last record of a delivered batch)


class Outbox:
    def __init__(self, producer: Callable[[], Any], packed: Collection[str] = ()) -> None:
        self._producer = producer  # the aiokafka producer, looked up at flush (it exists once the app runs)
        self._packed = frozenset(packed)
        self._pending: dict[tuple[str, int | None], list[Record]] = {}
        self._partitions: dict[str, list[int]] = {}
        self._partitioner = DefaultPartitioner()
        self._watchers: dict[str, Delivered] = {}
        self._tails: dict[tuple[str, int], Submission] = {}  # each topic partition's latest submission

    def __len__(self) -> int:
        return sum(len(records) for records in self._pending.values())

    def add(
        self, topic: str, key: bytes | None, value: bytes | None,
        headers: Headers | None = None, partition: int | None = None,
    ) -> None:  # fmt: skip
        self._pending.setdefault((topic, partition), []).append((key, value, headers, None))

    def discard(self) -> None:
        """Drop everything collected and not yet submitted."""
        self._pending = {}

    def on_delivered(self, topic: str, callback: Delivered) -> None:
        """Call ``callback(partition, last offset)`` whenever a batch of ``topic`` is acknowledged."""
        self._watchers[topic] = callback

    async def flush(self) -> list[Submission]:
        """Submit everything collected so far: one submission per topic partition, whose result is the
        delivery futures of its record batches (`settle` waits for both)."""
        if not self._pending:
            return []
        pending, self._pending = self._pending, {}
        producer = self._producer()
        routed: dict[tuple[str, int], list[Record]] = {}
        for (topic, partition), records in pending.items():
            if partition is not None:
                routed.setdefault((topic, partition), []).extend(records)
                continue
            partitions = await self._partitions_of(producer, topic)
            for record in records:
                chosen = self._partitioner(record[0], partitions, partitions)
                routed.setdefault((topic, chosen), []).append(record)
        for (topic, partition), records in routed.items():
            if topic in self._packed:
                routed[topic, partition] = self._packs(records)
        submissions: list[Submission] = []
        for (topic, partition), records in routed.items():
            key = (topic, partition)
            batches, previous = record_batches(producer, records), self._tails.get(key)
            task = asyncio.ensure_future(self._submit_after(previous, producer, topic, partition, batches))
            self._tails[key] = task
            task.add_done_callback(functools.partial(self._forget_tail, key))
            submissions.append(task)
        return submissions

    async def _submit_after(
        self, previous: Submission | None, producer: Any, topic: str, partition: int,
        batches: list[tuple[Any, int]],
    ) -> list[asyncio.Future[Any]]:  # fmt: skip
        """Hand a topic partition's record batches to the producer once the previous flush's are handed over.

        The producer takes a partition's next batch only when the one before it has left, so this waits
        while an earlier request for the partition is in flight; in a task of its own per partition, that
        wait does not hold up the caller. The chain keeps the partition's records in flush order without
        relying on the order in which the producer wakes those who wait for it."""
        if previous is not None:
            await asyncio.wait([previous])  # its outcome is its own flush's business: only the order matters
        futures = []
        for batch, count in batches:
            future = await producer.send_batch(batch, topic, partition=partition)
            future.add_done_callback(_report(self._watchers.get(topic), topic, partition, count))
            futures.append(future)
        return futures

    def _forget_tail(self, key: tuple[str, int], task: Submission) -> None:
        if self._tails.get(key) is task:
            del self._tails[key]

    async def deliver(self) -> int:
        """Submit everything collected so far and wait until Kafka acknowledged it; the number of record
        batches. Raises DeliveryFailed once every batch has settled if any of them failed."""
        return await settle(await self.submit())

    async def submit(self) -> list[Submission]:
        """`flush`, with a failure to submit raised as DeliveryFailed; `settle` the futures later."""
        try:
            return await self.flush()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # e.g. no metadata for the topic in time: nothing after it was submitted
            raise DeliveryFailed(f"records not submitted: {exc!r}") from exc

    @staticmethod
    def _packs(records: list[Record]) -> list[Record]:
        """A packed topic partition's records: values without headers packed, in order; a record with
        headers (or no value) stays whole, between the packs before and after it."""
        out: list[Record] = []
        values: list[bytes] = []
        for key, value, headers, timestamp in records:
            if value is not None and not headers:
                values.append(value)
                continue
            out.extend((None, packed, None, None) for packed in pack(values))
            values = []
            out.append((key, value, headers, timestamp))
        out.extend((None, packed, None, None) for packed in pack(values))
        return out

    async def learn_partitions(self, topics: Iterable[str]) -> None:
        """Look up the partitions of ``topics`` now: a topic's first keyed record otherwise waits for a
        metadata round trip inside the batch that carries it."""
        producer = self._producer()
        for topic in topics:
            await self._partitions_of(producer, topic)

    async def _partitions_of(self, producer: Any, topic: str) -> list[int]:
        found = self._partitions.get(topic)
        if found is None:
            found = self._partitions[topic] = sorted(await producer.partitions_for(topic))
        return found


async def settle(submissions: list[Submission]) -> int:
    """Wait for every submission and every record batch it handed over; DeliveryFailed once all have settled
    if any of them failed. The number of record batches."""
    if not submissions:
        return 0
    handed = await asyncio.gather(*submissions, return_exceptions=True)
    futures = [future for result in handed if not isinstance(result, BaseException) for future in result]
    results = await asyncio.gather(*futures, return_exceptions=True)
    unhanded = [r for r in handed if isinstance(r, BaseException)]
    errors = [*unhanded, *(r for r in results if isinstance(r, BaseException))]
    if errors:
        raise DeliveryFailed(
            f"{len(errors) - len(unhanded)} of {len(futures)} record batch(es) not delivered, "
            f"{len(unhanded)} of {len(submissions)} partition(s) not handed to the producer: {errors[0]!r}"
        )
    return len(futures)


def record_batches(producer: Any, records: Iterable[Record]) -> list[tuple[Any, int]]:
    """``records`` in order, in as few of the producer's record batches as its batch size allows, each
    with how many records it holds (a None timestamp is the client's clock at append)."""
    out: list[tuple[Any, int]] = []
    batch, count = producer.create_batch(), 0
    for key, value, headers, timestamp in records:
        if batch.append(timestamp=timestamp, key=key, value=value, headers=headers or []) is None:
            batch.close()
            out.append((batch, count))
            batch, count = producer.create_batch(), 0
            batch.append(timestamp=timestamp, key=key, value=value, headers=headers or [])
        count += 1
    batch.close()
    out.append((batch, count))
    return out


def record_size(key: bytes | None, value: bytes | None, headers: Headers | None = None) -> int:
    """About how many bytes a record takes in a record batch (payload only; the framing is small)."""
    extra = sum(len(name) + len(data) for name, data in headers or ())
    return len(key or b"") + len(value or b"") + extra


def _report(
    watcher: Delivered | None, topic: str, partition: int, count: int
) -> Callable[[asyncio.Future[Any]], None]:
    def done(future: asyncio.Future[Any]) -> None:
        if future.cancelled():
            log.error("%d record(s) for %s[%d] were cancelled before delivery", count, topic, partition)
        elif (error := future.exception()) is not None:
            log.error("%d record(s) for %s[%d] were not delivered: %r", count, topic, partition, error)
        elif watcher is not None:
            watcher(partition, future.result().offset + count - 1)

    return done
