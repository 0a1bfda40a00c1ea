"""The worker's Kafka consumer: Faust's aiokafka consumer with its own loop that feeds fetched records to
the streams, because Faust's loop (faust-streaming 0.15) loses records and is slow.

Faust's loop hands each record to the streams inside `wait_first(deliver, flow suspended)`: two tasks and
an `asyncio.wait` per record, and when a rebalance suspends the flow mid-record the record is dropped
while the partition's read offset still moves past it, so the re-fetched record is then dropped as
"already read". A seek has the same hole: records of the fetch that was being handed out when the seek
came keep moving the read offset past the seek target. Both leave holes that nothing re-reads.

This loop:
- awaits the delivery directly; while the flow is suspended it holds the record until the flow resumes;
- after a seek of a partition to X (ours, or Faust's own seek to the committed offsets when partitions
  are assigned) hands out nothing of that partition until the record at X arrives, or any record from a
  fetch that started after the seek (X itself may be gone, e.g. by retention), and never lets a
  discarded record move the read offset. A discarded record means a fetch was in flight during the seek,
  and aiokafka can then leave positions past their targets; those partitions are sought once more;
- appends the records of a topic that has a `RecordFeed` (agents/feed.py: the worker's events topic) to
  that feed instead of handing them to Faust's conductor one by one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from faust.transport.drivers.aiokafka import Consumer as FaustConsumer
from faust.types import TP

from agents.feed import RecordFeed

log = logging.getLogger("switchyard.consumer")
YIELD_EVERY = 100  # records handed out between two trips through the event loop


class SafeConsumer(FaustConsumer):
    feeds: dict[str, RecordFeed] = {}  # topic -> its feed; set per app by `install`

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seeks_done = 0  # counts completed seeks; a fetch that starts later is past all of them
        self.sought: dict[TP, tuple[int, int]] = {}  # tp -> (target offset, seeks_done after that seek)
        self.discarded_total = 0
        self.reseek_for: set[int] = set()  # seek numbers already repeated once
        self.reseeks: list[tuple[TP, int]] = []  # seeks to repeat before the next fetch

    async def seek(self, partition: TP, offset: int) -> None:
        """Our seeks (agents/gaps.py): the partition's records in its feed not yet taken are from before
        the seek, so they go; whatever of it reaches the feed afterwards comes from where the seek put it."""
        await super().seek(partition, offset)
        self._sought(partition, offset)
        feed = self.feeds.get(partition.topic)
        if feed is not None:
            feed.discard(partition)

    async def seek_to_committed(self) -> Any:
        """Faust's seek of the assigned partitions to their committed offsets (on assignment, recovery)."""
        offsets = await super().seek_to_committed()
        # A partition revoked before its first record came would stay here, and seeking it again (below)
        # is refused by aiokafka: only the current assignment's seeks are kept.
        assigned = self.assignment()
        self.sought = {tp: sought for tp, sought in self.sought.items() if tp in assigned}
        for tp, offset in offsets.items():
            if offset is not None and offset >= 0:
                self._sought(tp, offset)
        return offsets

    def _sought(self, tp: TP, offset: int) -> None:
        self.seeks_done += 1
        self.sought[tp] = (offset, self.seeks_done)

    def _current(self, tp: TP, offset: int, fetched_after: int) -> bool:
        """Is this record from where the partition's last seek put it (not left over from before it)?"""
        sought = self.sought.get(tp)
        if sought is None:
            return True
        target, seek_number = sought
        if offset == target or (fetched_after >= seek_number and offset > target):
            del self.sought[tp]
            return True
        self.discarded_total += 1
        if seek_number not in self.reseek_for:
            # A fetch that was in flight during the seek can still move positions past it, for every
            # partition it covered, with or without records; seeking every partition still waiting for its
            # first record again, now that this fetch has come back, makes the seeks stick.
            log.info("partition %s: record %d was fetched before the seek to %d; seeking again",
                     tp.partition, offset, target)  # fmt: skip
            for other, (other_target, other_number) in self.sought.items():
                if other_number not in self.reseek_for:
                    self.reseek_for.add(other_number)
                    self.reseeks.append((other, other_target))
        return False

    async def _drain_messages(self, fetcher: Any) -> None:  # pragma: no cover - runs in the worker
        deliver = self.callback
        read_offset = self._read_offset
        acks_enabled_for = self.app.topics.acks_enabled_for
        consumer_stopped, fetcher_stopped = self._stopped.is_set, fetcher._stopped.is_set
        feeds = self.feeds
        while not (consumer_stopped() or fetcher_stopped()):
            while self.reseeks:
                tp, target = self.reseeks.pop()
                if tp not in self.assignment():
                    self.sought.pop(tp, None)  # revoked meanwhile
                    continue
                await FaustConsumer.seek(self, tp, target)  # the same target: `sought` stays as it is
            fetched_after = self.seeks_done
            await asyncio.sleep(0)
            if self.should_stop:
                break
            handed = 0
            async for tp, message in self.getmany(timeout=1.0):
                offset = message.offset
                if not self._current(tp, offset, fetched_after):
                    continue
                last = read_offset[tp]
                if last is not None and offset < last:
                    continue  # handed out already
                waited = False  # after any wait the partition may have been sought: checked again
                if last and offset - last > 1 and acks_enabled_for(message.topic):
                    await self._add_gap(tp, last + 1, offset)  # offsets without records: commit past them
                    waited = True
                if self._commit_every is not None and self._n_acked >= self._commit_every:
                    self._n_acked = 0
                    await self.commit()
                    waited = True
                feed = feeds.get(message.topic)
                if feed is not None and not feed.has_room():
                    await feed.wait_for_room()
                    waited = True
                if not self.flow_active:
                    # Suspended (a rebalance or recovery): hold the record. Dropping it would lose it when
                    # recovery has already sought the partition and only resumes the flow afterwards.
                    await self.can_resume_flow.wait()
                    waited = True
                if waited and not self._current(tp, offset, fetched_after):
                    continue  # the partition was sought meanwhile
                if feed is not None:
                    feed.put(message)
                else:
                    await deliver(message)
                read_offset[tp] = offset
                handed += 1
                if handed % YIELD_EVERY == 0:
                    await asyncio.sleep(0)

    def pause_partitions(self, tps: Iterable[TP]) -> None:
        super().pause_partitions(tps)
        self._fetch_only_unpaused()

    def resume_partitions(self, tps: Iterable[TP]) -> None:
        super().resume_partitions(tps)
        self._fetch_only_unpaused()

    def _fetch_only_unpaused(self) -> None:
        """Tell aiokafka which partitions Faust has paused. Faust's pause is its own bookkeeping only (it
        hands out no records of a paused partition), so aiokafka went on fetching them: after recovery the
        table changelogs, whose records (the worker's own writes) then sat untaken in the fetcher. A broker
        with untaken records less than 0.1 s old gets no fetch (aiokafka's prefetch backoff), so the events
        topic was fetched only every ~100 ms for the first ~0.5 s of every assignment, until each changelog
        partition held such a record; and a fetch of only idle partitions could hold the broker's one
        in-flight fetch for Faust's 1.5 s fetch wait. Applied on the consumer's thread, in call order."""
        paused = {(tp.topic, tp.partition) for tp in self._paused_partitions}
        thread = self._thread

        def apply() -> None:
            consumer = getattr(thread, "_consumer", None)
            if consumer is None:
                return
            assigned = consumer.assignment()
            to_pause = [tp for tp in assigned if (tp.topic, tp.partition) in paused]
            to_resume = [tp for tp in assigned if (tp.topic, tp.partition) not in paused]
            if to_pause:
                consumer.pause(*to_pause)
            if to_resume:
                consumer.resume(*to_resume)

        thread.thread_loop.call_soon_threadsafe(apply)

    def revive(self, idle: list[TP]) -> list[TP]:
        """Of ``idle`` (assigned partitions that delivered nothing for a while, outside a rebalance or a
        recovery), those the fetcher skips: left paused after a recovery, or marked as having a full
        stream buffer that has drained since. Each is logged with why, and fetched from again (what Faust
        itself should have done); returns them."""
        active = self._get_active_partitions()
        held = [tp for tp in idle if tp not in active]
        for tp in held:
            why = "paused" if tp in self._paused_partitions else (
                "buffer full" if tp in self._buffered_partitions else "not fetched")  # fmt: skip
            log.warning("partition %s: idle and left out of fetching (%s); fetching it again", tp, why)
        if held:
            self._buffered_partitions.difference_update(held)
            self.resume_partitions(held)
        return held

    def _end_unknown(self, tp: TP) -> bool:
        try:
            return self.highwater(tp) is None
        except Exception:  # not (or no longer) assigned in aiokafka: a rebalance is under way
            return False

    async def refetch_unfetched(self, idle: list[TP]) -> list[TP]:
        """Of ``idle``, those for which no fetch has ever answered (their log end is unknown although the
        fetcher was free to fetch them for a while): the fetch state is logged, and every assigned
        partition is sought to its committed offset, which restarts fetching from where it is safe
        (records read again are skipped as already applied). Returns them."""
        unknown = [tp for tp in idle if self._end_unknown(tp)]
        if unknown:

            def numbers(tps: Any) -> list[int]:
                return sorted(tp.partition for tp in tps)

            log.warning(
                "partitions %s: nothing fetched although assigned and idle (flow %s, app flow %s, active %s, "
                "paused %s, feed %s); seeking to the committed offsets",
                numbers(unknown), self.flow_active, self.app.flow_control.is_active(),
                numbers(self._get_active_partitions()), numbers(self._paused_partitions),
                {topic: len(feed) for topic, feed in self.feeds.items()},
            )  # fmt: skip
            await self.seek_to_committed()
        return unknown


def install(app: Any, feeds: tuple[RecordFeed, ...] = ()) -> None:
    """Make ``app`` build its consumer from SafeConsumer, with ``feeds`` taking their topics' records
    (call before the app starts)."""
    app.transport.Consumer = type("SafeConsumer", (SafeConsumer,), {"feeds": {f.topic: f for f in feeds}})
