"""The processing agent's batch step: decode, dead-letter, run the engine per contact, emit, persist.

Per batch and per contact: one state read, the engine's `step` for each of the contact's events in
order, one state write. Actions go to `actions.<channel>`, step records to `analytics` (packed by the
outbox: one record per batch and partition), wake-ups to the `timers` table and the timer service.

Crash safety without transactions: every action and step record of the batch is flushed to Kafka
*before* any state that says "done" is written. A crash before the flush leaves the old state (and old
offsets), so the events are processed again and re-emit actions with the same deterministic ids (the
sinks drop them). A crash after it finds the new state, whose last applied offset makes the replayed
events no-ops.

Pipelining: while a batch's effects travel to Kafka the next batch is computed, reading the states the
first one computed but has not yet written (agents/unwritten.py); then the first is written, and its
changelog records travel while the batch after is computed. So a worker waits neither for its effects
nor for its changelog, and still writes no state before the effects it records are in Kafka.

Isolation: a contact whose processing fails (agents/failures.py: the engine, scoring, a state past its
limits or one that cannot be encoded, a record too large to deliver, a stored row that cannot be read)
costs only its own events: they go to the dead-letter topic with the reason, its state, timers and runs
stay as they were, and every other contact of the batch goes on. A record Kafka does not acknowledge
fails the batch instead (DeliveryFailed): its offsets are not committed and it is processed again.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from agents.breaker import BreakerGuard, Record
from agents.consumer import SafeConsumer
from agents.definitions import DefinitionCache, apply_migrations
from agents.exceptions import DeliveryFailed
from agents.failures import CORRUPT_STATE, RECORD_TOO_LARGE, SCORING_ERROR, ContactFailure, as_failure
from agents.gaps import GapGuard, stalled_partitions
from agents.metrics import Metrics
from agents.outbox import Headers, Outbox, Submission, record_size, settle
from agents.scoring import Predictions, is_ml_wakeup, pending_ml_timers, same_ml_timer
from agents.timers import TIMER_EVENT, TimerService
from agents.unwritten import Unwritten
from engine.consent import STATE_KEY as CONSENT_KEY
from engine.consent import consent_record
from engine.events import DAY_MS, Limits, Malformed, decode_event
from engine.pending import pending_timers, same_pending
from engine.step import step as engine_step
from engine.types import ContactState, Event
from engine.workflows import WorkflowSet
from tables.codec import decode_state
from tables.contacts import ContactStore
from tables.direct import DirectTable
from tables.exceptions import StateDecodeError
from tables.progress import ProgressStore
from tables.timers import TimerStore

log = logging.getLogger("switchyard.processor")
MAX_FUTURE_MS = DAY_MS  # events stamped more than a day ahead of the worker's clock are refused
MAX_RECORD_BYTES = 512 * 1024  # an output record past this could never be delivered (agents/app.py)
RETRY_FIRST_S, RETRY_MAX_S = 0.5, 10.0  # pauses before a batch whose records were not delivered runs again
YIELD_EVERY_CONTACTS = 128  # ~15 ms of work: the event loop's other tasks run between such stretches
SLOW_BATCH_S = 0.5  # a batch that takes longer is logged with where its time went


@dataclass(frozen=True)
class Outputs:
    """Names of the topics the processor produces to."""

    dlq: str
    analytics: str
    actions: dict[str, str]
    events: str
    consent: str | None = None  # compacted: the contact's consent record when it changes (sinks re-check)


def dead_letter_headers(message: Any, problem: Malformed) -> list[tuple[str, bytes]]:
    return [
        ("x-switchyard-reason", problem.reason.encode()),
        ("x-switchyard-detail", problem.detail.encode("utf-8", "replace")),
        ("x-switchyard-source-topic", str(message.topic).encode()),
        ("x-switchyard-source-partition", str(message.partition).encode()),
        ("x-switchyard-source-offset", str(message.offset).encode()),
    ]


def consent_changed(before: ContactState | None, after: ContactState) -> bool:
    """Whether the step changed what decides consent (identity checks: both parts are copied on change)."""
    if before is None:
        return bool(after.get(CONSENT_KEY)) or "status" in after["profile"]["attrs"]
    return before.get(CONSENT_KEY) is not after.get(CONSENT_KEY) or (
        before["profile"]["attrs"] is not after["profile"]["attrs"]
        and before["profile"]["attrs"].get("status") != after["profile"]["attrs"].get("status")
    )


def scoring_failure(exc: Exception) -> ContactFailure:
    """What the models raise is the contact's failure (its events are dead-lettered), not the batch's.
    (Raised from plain try blocks: a generator-based context manager costs 1.5 µs a use, twice an event.)"""
    return ContactFailure(SCORING_ERROR, f"{type(exc).__name__}: {exc}")


def all_pending(state: ContactState | None) -> Pending:
    """The wake-ups the state expects: the engine's (waits, trigger timers), the models' (label windows)."""
    return sorted(pending_timers(state) + pending_ml_timers((state or {}).get("ml")))


def same_wakeups(before: ContactState | None, after: ContactState) -> bool:
    """Whether ``after`` surely expects the wake-ups ``before`` did (`all_pending`'s two sources say so);
    False only means "compare them"."""
    return (
        before is not None
        and same_pending(before, after)
        and same_ml_timer(before.get("ml"), after.get("ml"))
    )


@contextmanager
def collector_paused() -> Iterator[None]:
    """No automatic garbage collection inside: a batch keeps its events and their messages alive until it
    ends, so the young collections its allocations would trigger walk those again and again and free
    almost nothing (reference counting frees each contact's states as soon as the contact is done, see
    `Staged`). Once the batch is over the next collection finds little left."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


Pending = list[tuple[int, str, str]]  # a state's wake-ups (`all_pending`)


@dataclass
class Staged:
    """A contact whose state changed in this batch, waiting for the flush before it is written.

    It holds the new state's bytes and wake-ups, not the decoded states: a batch then frees each contact's
    states as soon as the contact is done, while they are still in the CPU's caches. Holding them to the
    end of the batch made freeing them cost 6 % of a worker's time in the runtime benchmark."""

    contact_id: str
    partition: int
    encoded: bytes
    # (the wake-ups of the state as stored, which are the timers table's; those of the new state), or
    # None when they surely are the same
    wakeups: tuple[Pending, Pending] | None
    # Re-delivered events met a state that had already applied them: that state may exist only in the
    # local RocksDB file (a crash between the write and its changelog record), so it is written again.
    republish: bool = False


def staged(
    contact_id: str, partition: int, encoded: bytes, before: ContactState | None, after: ContactState,
    republish: bool,
) -> Staged:  # fmt: skip
    same = not republish and same_wakeups(before, after)
    wakeups = None if same else (all_pending(before), all_pending(after))
    return Staged(contact_id, partition, encoded, wakeups, republish)


@dataclass
class Computed:
    """A batch whose contacts are done: its new states wait until its effects are in Kafka."""

    batch: Sequence[Any]
    taken: Any  # what the caller acknowledges once the batch has landed (`Landing`)
    staged: list[Staged]
    last_offsets: dict[Any, int]
    contacts: int
    started: float  # perf_counter at the start and the end of the computation
    computed: float
    tripped: tuple[Record, ...] = ()  # the circuit breaker's records this batch carries
    effects: list[Submission] = field(default_factory=list)  # once submitted


@dataclass(frozen=True)
class Landing:
    """A batch whose states are written, its changelog records on their way (`EventProcessor.land`)."""

    batch: Sequence[Any]
    taken: Any
    changelog: list[Submission]


Item = tuple[Any, Event]  # (the stream's event, the decoded contract event)
OutRecord = tuple[str, bytes | None, bytes, Headers | None, int | None]  # ..., partition (None: by key)


class EventProcessor:
    def __init__(
        self,
        app: Any,
        store: ContactStore,
        timer_store: TimerStore,
        timer_service: TimerService,
        definitions: DefinitionCache,
        outputs: Outputs,
        limits: Limits,
        metrics: Metrics,
        effects: Outbox,
        changelog: Outbox,
        progress: ProgressStore | None = None,
        predictions: Predictions | None = None,
        max_record_bytes: int = MAX_RECORD_BYTES,
        breaker: BreakerGuard | None = None,
    ) -> None:
        self.app = app
        self.store = store
        self.timer_store = timer_store
        self.timer_service = timer_service
        self.definitions = definitions
        self.outputs = outputs
        self.limits = limits
        self.metrics = metrics
        self.predictions = predictions
        self.progress = progress
        self.gaps = GapGuard(self._progress) if progress is not None else None
        self.generation = -1
        self.effects = effects  # the batch's actions, step records, predictions and dead letters
        self.changelog = changelog  # the batch's table changelog records (sent after the effects)
        self.max_record_bytes = max_record_bytes
        self.breaker = breaker
        self.tables: list[DirectTable] = [store.table, timer_store.table]
        if progress is not None:
            self.tables.append(progress.table)
        # The current contact's output records: they reach the outbox only if the whole contact succeeds.
        self._records: list[OutRecord] = []
        self.replayed = 0  # re-delivered events skipped in the current batch
        self.unwritten = Unwritten()  # the batch in flight's states and offsets (`submit`)
        self._in_flight: Computed | None = None

    def send(
        self, topic: str, key: bytes | None, value: bytes, headers: Headers | None = None,
        partition: int | None = None,
    ) -> None:  # fmt: skip
        self._records.append((topic, key, value, headers, partition))

    async def unstall(self, assigned: list[Any], quiet_s: float = 10.0) -> None:
        """Seek back partitions that stopped delivering although their log has more (a hole at the tail)."""
        if self.gaps is None or self.progress is None:
            return
        now = time.monotonic()
        positions = {}
        idle = []
        for tp in assigned:
            seen_at = self.gaps.seen_at.setdefault(tp, now)
            if now - seen_at >= quiet_s:
                idle.append(tp)
            try:
                end = self.app.consumer.highwater(tp)
            except Exception as exc:  # not known right after an assignment
                if tp in idle:  # long after it: the consumer does not hold a partition Faust assigned us
                    log.warning("partition %s: idle for %.0f s and its log end unknown to the consumer (%r)",
                                tp.partition, now - seen_at, exc)  # fmt: skip
                continue
            positions[tp] = (self._progress(tp.partition), end, seen_at)
        consumer = self.app.consumer
        if idle and isinstance(consumer, SafeConsumer):
            consumer.revive(idle)
            if await consumer.refetch_unfetched(idle):
                for tp in assigned:
                    self.gaps.seen_at[tp] = now
        for tp, offset in stalled_partitions(positions, now, quiet_s).items():
            self.gaps.seen_at[tp] = now
            if not self.gaps.unstall(tp, offset, positions[tp][1] or offset):
                continue
            log.warning("partition %s: no records for %.0f s although the log has more; seeking back to %d",
                        tp.partition, quiet_s, offset)  # fmt: skip
            await self.app.consumer.seek(tp, offset)

    async def submit(self, batch: Sequence[Any], taken: Any) -> list[Landing]:
        """Process the batch while the previous one's effects travel, then write the previous one.

        The batch is computed on the states the previous batch computed (`Unwritten`), then the previous
        batch's effects are awaited, its states written and its changelog records submitted: that batch
        comes back as a `Landing`, acknowledged by the caller only after `land` returns. This batch's
        effects are submitted last; it stays in flight until the next `submit` or `drain`.

        If the previous batch's effects did not all reach Kafka, neither batch is written: both are
        processed again on their own, from the stored states, until they are in (`_redo`). Idempotence
        makes the repeat safe: the same actions with the same ids."""
        self.metrics.observe_batch(len(batch))
        landings: list[Landing] = []
        if self.app.rebalancing_count != self.generation and self._in_flight is not None:
            landings += await self.drain()  # what it computed may be of partitions no longer ours
        with collector_paused():
            computed = await self._compute(batch, taken, self.unwritten)
        previous, self._in_flight = self._in_flight, None
        if previous is not None:
            try:
                landings.append(await self._write(previous))
            except DeliveryFailed as exc:
                self._forget_unwritten()  # this batch was computed on the states of the one that failed
                log.warning("the batch of %d event(s) computed on the states of a batch not fully delivered "
                            "is processed again after it", len(batch))  # fmt: skip
                landings.append(await self._redo(previous.batch, previous.taken, exc))
                landings.append(await self._redo(batch, taken))
                return landings
        try:
            computed.effects = await self.effects.submit()
        except DeliveryFailed as exc:
            self._forget_unwritten()
            landings.append(await self._redo(batch, taken, exc))
            return landings
        self._in_flight = computed
        return landings

    async def drain(self) -> list[Landing]:
        """Write the batch in flight once its effects are in Kafka (processed again until they are)."""
        previous, self._in_flight = self._in_flight, None
        if previous is None:
            return []
        try:
            return [await self._write(previous)]
        except DeliveryFailed as exc:
            self._forget_unwritten()
            return [await self._redo(previous.batch, previous.taken, exc)]

    async def land(self, landing: Landing) -> None:
        """Wait for a written batch's changelog records; processes the batch again until they are in."""
        attempt = 0
        while True:
            try:
                await settle(landing.changelog)
                return
            except DeliveryFailed as exc:
                attempt += 1
                landing = await self._redo(landing.batch, landing.taken, exc, attempt)

    def abandon(self) -> None:
        """The batch loop stopped (cancelled, or failed): the batch in flight is not written. Its offsets
        were not acknowledged, so its events are processed again (agents/gaps.py seeks back to them)."""
        self._in_flight = None
        self._forget_unwritten()

    def _forget_unwritten(self) -> None:
        self.unwritten.clear()
        self.effects.discard()  # records of a batch computed on states now forgotten

    async def _redo(
        self, batch: Sequence[Any], taken: Any, failed: DeliveryFailed | None = None, attempt: int = 1
    ) -> Landing:
        """Process the batch on its own until its effects are in Kafka: after a pause when ``failed``.

        It reads and writes the stored states only, never `Unwritten`'s: a batch in flight may hold newer
        states of the same contacts (those it read from the batch redone here, whose states are stored)."""
        while True:
            if failed is not None:
                batch = await self._pause_before_retry(batch, failed, attempt)
                attempt += 1
            try:
                with collector_paused(), self._not_learning():  # its first computation taught the models
                    computed = await self._compute(batch, taken, None)
                computed.effects = await self.effects.submit()
                return await self._write(computed)
            except DeliveryFailed as exc:
                self.effects.discard()
                failed = exc

    async def _pause_before_retry(self, batch: Sequence[Any], exc: DeliveryFailed, attempt: int) -> list[Any]:
        """Wait before processing a batch again; its records of the partitions this worker still holds."""
        self.metrics.batch_retries_total += 1
        delay = min(RETRY_MAX_S, RETRY_FIRST_S * 2 ** (attempt - 1))
        log.error("batch of %d event(s) not fully delivered (%s); offsets stay uncommitted, "
                  "processing it again in %.1f s (attempt %d)", len(batch), exc, delay, attempt)  # fmt: skip
        await asyncio.sleep(delay)
        held = self.app.consumer.assignment()
        return [item for item in batch if item.message.tp in held]

    def _progress(self, partition: int) -> int | None:
        """The partition's highest offset processed, its states written or not."""
        assert self.progress is not None
        return self.unwritten.progress(partition, self.progress.load(partition))

    async def _compute(self, batch: Sequence[Any], taken: Any, unwritten: Unwritten | None) -> Computed:
        """Run every contact of the batch; its records wait in the effects outbox. With ``unwritten``, the
        contacts' states are read there first and the new ones staged there."""
        if self.app.rebalancing_count != self.generation:
            self.generation = self.app.rebalancing_count
            if self.gaps is not None:
                self.gaps.reset()
        if self.gaps is not None:
            batch, seeks = self.gaps.admit(batch)
            for tp, offset in seeks.items():
                await self.app.consumer.seek(tp, offset)
        limits = replace(self.limits, max_ts=min(self.limits.max_ts, int(time.time() * 1000) + MAX_FUTURE_MS))
        workflows = self.definitions.current()
        if self.breaker is not None:
            self.breaker.follow(workflows)
        started = time.perf_counter()
        by_contact: dict[str, list[Item]] = {}
        last_offsets: dict[Any, int] = {}
        for item in batch:
            message = item.message
            last_offsets[message.tp] = message.offset
            decoded = decode_event(item.value, message.key, limits)
            if isinstance(decoded, Malformed):
                self._dead_letter(message, decoded)
                continue
            by_contact.setdefault(decoded["contact_id"], []).append((item, decoded))

        staged: list[Staged] = []
        self.replayed = 0
        stored = self._load(by_contact, unwritten)
        for index, (contact_id, items) in enumerate(by_contact.items(), 1):
            entry = self._contact(contact_id, items, stored.pop(contact_id), workflows)
            if entry is not None:
                staged.append(entry)
                if unwritten is not None:
                    unwritten.stage(contact_id, entry.encoded)
            if index % YIELD_EVERY_CONTACTS == 0:
                # Lets the producer send the previous batch's records and the consumer fetch meanwhile.
                await asyncio.sleep(0)
        if unwritten is not None:
            for tp, offset in last_offsets.items():
                unwritten.stage_offset(tp.partition, offset)
        self.metrics.replayed_total += self.replayed
        if self.replayed:
            log.info("skipped %d already-applied event(s) (re-delivered offsets)", self.replayed)
        # the breaker's trips not yet in a written batch: this one carries them too (see agents/breaker.py)
        tripped = self.breaker.hand_over(self._send_effect) if self.breaker is not None else ()
        return Computed(
            batch, taken, staged, last_offsets, len(by_contact), started, time.perf_counter(), tripped
        )

    async def _write(self, computed: Computed) -> Landing:
        """Once the batch's effects are in Kafka, write its timers, states and progress locally and submit
        their changelog records; DeliveryFailed (nothing written) when an effect was not acknowledged."""
        waited = time.perf_counter()
        await settle(computed.effects)  # effects are in Kafka before any state says they happened
        delivered = time.perf_counter()
        if self.breaker is not None:
            self.breaker.delivered(computed.tripped)
        for table in self.tables:  # changelog records acknowledged since the last batch
            table.note_persisted()
        unwritten = self.unwritten
        for entry in computed.staged:
            # Timers before state: a crash between the two leaves the old state, whose replay re-derives the
            # same timers; the other order could leave a state waiting on a timer that was never stored.
            if entry.wakeups is not None:
                self._save_timers(entry, *entry.wakeups)
            self.store.save(entry.partition, entry.contact_id, entry.encoded)
            unwritten.state_written(entry.contact_id, entry.encoded)
        if self.progress is not None:
            for tp, offset in computed.last_offsets.items():
                # Written for every batch, even when re-deliveries leave it where it was: the local row can
                # be ahead of its changelog after a crash, and the changelog is what a restore reads.
                done = self.progress.load(tp.partition)
                highest = offset if done is None else max(done, offset)
                self.progress.save(tp.partition, highest)
                unwritten.offset_written(tp.partition, highest)
        # Settled before the offsets are committed (`land`): a state written locally whose changelog record
        # Kafka refused would be lost by a restore. On failure the batch runs again, finds these states
        # applied, and writes them again.
        written = time.perf_counter()
        submitted = await self.changelog.submit()
        self._update_lag(computed.last_offsets)
        ended = time.perf_counter()
        took = (computed.computed - computed.started) + (ended - waited)
        if took > SLOW_BATCH_S:
            log.warning("slow batch: %d event(s) of %d contact(s) in %.0f ms: engine and models %.0f, "
                        "then waiting for its effects in Kafka %.0f, state and timers %.0f, changelog "
                        "submitted %.0f", len(computed.batch), computed.contacts, took * 1000,
                        (computed.computed - computed.started) * 1000, (delivered - waited) * 1000,
                        (written - delivered) * 1000, (ended - written) * 1000)  # fmt: skip
        return Landing(computed.batch, computed.taken, submitted)

    def _save_timers(self, entry: Staged, timers_before: Pending, timers_after: Pending) -> None:
        # Republished, the row is written even when empty: a crash may have lost the delete of a row
        # emptied before, and a restore would bring its stale wake-ups back.
        if timers_after != timers_before or entry.republish:
            self.timer_store.save(entry.partition, entry.contact_id, timers_after)
        after, before = set(timers_after), set(timers_before)
        for due, token, _ in before - after:  # first: a timer moved to another due is cancelled, then added
            self.timer_service.cancel(due, token)
        # A republished state may be one whose timers row a crash lost (the two files and changelogs are
        # separate): the row is written again above, and its timers go back into the queue (added twice,
        # a timer is queued once).
        for due, token, kind in after if entry.republish else after - before:
            self.timer_service.add(entry.contact_id, due, token, kind, entry.partition)

    def _load(
        self, by_contact: dict[str, list[Item]], unwritten: Unwritten | None
    ) -> dict[str, bytes | None]:
        """Every contact's state as bytes: from ``unwritten`` when it is there, else as stored, read with one
        multi-get per partition; each is decoded only when its contact's turn comes (`Staged` says why)."""
        by_partition: dict[int, list[str]] = {}
        found: dict[str, bytes | None] = {}
        staged = unwritten.states if unwritten is not None else {}
        for contact_id, items in by_contact.items():
            raw = staged.get(contact_id)
            if raw is not None:
                found[contact_id] = raw
            else:
                by_partition.setdefault(items[0][0].message.partition, []).append(contact_id)
        for partition, contact_ids in by_partition.items():
            found.update(zip(contact_ids, self.store.read_many(partition, contact_ids), strict=True))
        return found

    # -- one contact ---------------------------------------------------------------------------------

    def _contact(
        self, contact_id: str, items: list[Item], raw: bytes | None, workflows: WorkflowSet
    ) -> Staged | None:
        """The contact's new state to write (None: nothing to write), its output records handed to the
        outbox. Fast path: all events, one encode. If anything fails, the careful path redoes the contact
        from its stored state one event at a time and dead-letters exactly the events that fail."""
        loaded = self.store.decode(raw)
        if isinstance(loaded, StateDecodeError):
            failure = ContactFailure(CORRUPT_STATE, str(loaded))
            log.error("contact %s: %s; its %d event(s) go to the dead-letter topic", contact_id, loaded,
                      len(items))  # fmt: skip
            for item, _ in items:
                self._fail(item.message, failure)
            return None
        self._records = []
        counted = self._counters()
        self._hold_learning()
        try:
            entry = self._run(contact_id, items, loaded, workflows)
        except Exception as exc:
            self._release_learning(keep=False)  # the careful path learns from the events it keeps
            first = as_failure(exc)
            log.warning("contact %s: %s; processing its events one at a time", contact_id, first)
            self._records = []
            self._restore_counters(counted)  # the careful path counts what it really applies
            fresh = self.store.decode(raw)  # the state the fast path started from, not its changes
            assert not isinstance(fresh, StateDecodeError)  # it was decoded a moment ago
            entry = self._run_carefully(contact_id, items, fresh, workflows)
        else:
            self._release_learning(keep=True)
        for topic, key, value, headers, partition in self._records:
            self.effects.add(topic, key, value, headers, partition)
        self._records = []
        return entry

    def _hold_learning(self) -> None:
        """What the models learn from a contact's events waits until its new state is kept (Scorer.hold)."""
        if self.predictions is not None:
            self.predictions.scorer.hold()

    def _release_learning(self, keep: bool) -> None:
        if self.predictions is not None:
            self.predictions.scorer.release(keep)

    @contextlib.contextmanager
    def _not_learning(self) -> Iterator[None]:
        """Events processed again: the models score them but do not learn from them a second time."""
        scorer = self.predictions.scorer if self.predictions is not None else None
        if scorer is None or not scorer.learning:
            yield
            return
        scorer.learning = False
        try:
            yield
        finally:
            scorer.learning = True

    def _counters(self) -> tuple[int, int, int, int, dict[str, int]]:
        m = self.metrics
        return self.replayed, m.applied_total, m.step_records_total, m.predictions_total, dict(m.actions)

    def _restore_counters(self, counted: tuple[int, int, int, int, dict[str, int]]) -> None:
        m = self.metrics
        self.replayed, m.applied_total, m.step_records_total, m.predictions_total, m.actions = counted

    def _run(
        self, contact_id: str, items: list[Item], state: ContactState | None, workflows: WorkflowSet
    ) -> Staged | None:
        partition = items[0][0].message.partition  # the key is the contact id: one partition per contact
        before = state
        state = self._migrate(contact_id, items, state, workflows)
        changed = skipped = False
        for item, event in items:
            if state is not None and item.message.offset <= state["offset"]:
                self.replayed += 1
                skipped = True
                continue
            state = self._apply(state, event, item.message)
            changed = True
        if not (changed or skipped) or state is None:
            return None
        encoded = self.store.encode(state)
        self._check_records(0)
        return staged(contact_id, partition, encoded, before, state, skipped)

    def _run_carefully(
        self, contact_id: str, items: list[Item], state: ContactState | None, workflows: WorkflowSet
    ) -> Staged | None:
        """One event at a time from the stored state, each checked (engine, scoring, encoding, record
        sizes); an event that fails is dead-lettered and the state stays as it was before it."""
        partition = items[0][0].message.partition
        before = state
        try:
            state = self._migrate(contact_id, items, state, workflows)
            encoded = self.store.encode(state) if state is not None else None
        except Exception as exc:  # the migration itself fails: none of the events can be applied
            failure = as_failure(exc)
            self.metrics.observe_processing_error(failure.reason)
            self._records = []
            for item, _ in items:
                self._dead_letter(item.message, Malformed(failure.reason, failure.detail))
            return None
        changed = skipped = False
        for item, event in items:
            if state is not None and item.message.offset <= state["offset"]:
                self.replayed += 1
                skipped = True
                continue
            mark, counted = len(self._records), self._counters()
            self._hold_learning()
            try:
                base = decode_state(encoded) if encoded is not None else None  # untouched by a failed try
                candidate = self._apply(base, event, item.message)
                candidate_bytes = self.store.encode(candidate)
                self._check_records(mark)
            except Exception as exc:
                self._release_learning(keep=False)
                del self._records[mark:]
                self._restore_counters(counted)
                self._fail(item.message, as_failure(exc))
                continue
            self._release_learning(keep=True)
            state, encoded, changed = candidate, candidate_bytes, True
        if not (changed or skipped) or state is None or encoded is None:
            return None
        return staged(contact_id, partition, encoded, before, state, skipped)

    def _migrate(
        self, contact_id: str, items: list[Item], state: ContactState | None, workflows: WorkflowSet
    ) -> ContactState | None:
        if state is None or not self.definitions.migrations:
            return state
        state, migrated = apply_migrations(state, workflows, self.definitions.migrations, items[0][1]["ts"])
        if migrated:  # identified by the first event of the batch that moved the run
            first = items[0][0].message
            context = {
                "event_id": "",
                "event_type": "migration",
                "source": f"{first.partition}:{first.offset}:m",
            }
            self._emit_records(contact_id.encode(), migrated, context)
        return state

    def _check_records(self, start: int) -> None:
        """Refuse the contact's output records from `start` on if one could never be delivered."""
        for topic, key, value, headers, _ in self._records[start:]:
            size = record_size(key, value, headers)
            if size > self.max_record_bytes:
                raise ContactFailure(
                    RECORD_TOO_LARGE,
                    f"a record for {topic} of {size} bytes (at most {self.max_record_bytes})",
                )

    def _fail(self, message: Any, failure: ContactFailure) -> None:
        log.error("event at %s[%d]@%d dead-lettered: %s", message.topic, message.partition, message.offset,
                  failure)  # fmt: skip
        self.metrics.observe_processing_error(failure.reason)
        self._dead_letter(message, Malformed(failure.reason, failure.detail))

    def _apply(self, state: ContactState | None, event: Event, message: Any) -> ContactState:
        """One event through the engine and the models; raises ContactFailure (or what the engine raised)."""
        if state is not None and is_ml_wakeup(event):  # a label window closed: the models' business only
            return self._score({**state, "offset": message.offset}, event, message)
        hints = self._first_hints(state, event)
        result = engine_step(state, event, self.definitions.workflows, event["ts"], hints)
        new_state = result.state
        new_state["offset"] = message.offset
        self.metrics.applied_total += 1
        key = message.key
        if result.duplicate:  # the same event id again (a producer's retry): the models skip it too
            self._emit_records(key, result.trace, self._record_context(event, message))
            return new_state
        for action in result.actions:
            channel = action["channel"]
            self.send(self.outputs.actions[channel], key, orjson.dumps(action))
            self.metrics.observe_action(channel)
        if self.outputs.consent is not None and consent_changed(state, new_state):
            self.send(self.outputs.consent, key, orjson.dumps(consent_record(new_state)))
        if self.breaker is not None:
            self.breaker.observe(self.definitions.workflows, event, result, self.definitions.apply)
        if result.trace:
            self._emit_records(key, result.trace, self._record_context(event, message))
        return self._score(new_state, event, message, result.actions)

    def _first_hints(self, state: ContactState | None, event: Event) -> dict[str, Any] | None:
        if self.predictions is None:
            return None
        try:
            return self.predictions.first_hints(state, event)
        except Exception as exc:
            raise scoring_failure(exc) from exc

    def _score(
        self, state: ContactState, event: Event, message: Any, actions: Sequence[dict[str, Any]] = ()
    ) -> ContactState:
        if self.predictions is None:
            return state
        try:
            state, predicted = self.predictions.observe(state, event, actions)
        except Exception as exc:
            raise scoring_failure(exc) from exc
        # Into the partition the contact's state is in, whatever partitioner its events' producer used
        # (the same key may hash elsewhere under ours): the prediction must reach this state.
        for prediction in predicted:
            self.send(self.outputs.events, message.key, orjson.dumps(prediction), partition=message.partition)
        self.metrics.predictions_total += len(predicted)
        return state

    def _emit_records(self, key: bytes, trace: list[dict[str, Any]], extra: dict[str, Any]) -> None:
        analytics = self.outputs.analytics
        for index, record in enumerate(trace):
            self.send(analytics, key, orjson.dumps({**record, **extra, "seq": index}))
        self.metrics.step_records_total += len(trace)

    @staticmethod
    def _record_context(event: Event, message: Any) -> dict[str, Any]:
        """What every step record carries besides the engine's trace: its cause, and its id for dedupe."""
        extra: dict[str, Any] = {
            "event_id": event["event_id"],
            "event_type": event["type"],
            "source": f"{message.partition}:{message.offset}",
        }
        if event["type"] == TIMER_EVENT:
            props = event["properties"]
            fired_at, due = props.get("fired_at"), props.get("due")
            if isinstance(fired_at, int) and isinstance(due, int):
                extra["late_ms"] = max(0, fired_at - due)
        return extra

    def _send_effect(self, topic: str, key: bytes | None, value: bytes) -> None:
        """Straight to the outbox, whatever happens to any contact (the breaker's pause and notice)."""
        self.effects.add(topic, key, value)

    def _dead_letter(self, message: Any, problem: Malformed) -> None:
        """Straight to the outbox: a dead letter goes out whatever happens to the contact."""
        self.metrics.observe_dead_letter(problem.reason)
        self.effects.add(self.outputs.dlq, message.key, message.value, dead_letter_headers(message, problem))

    def _update_lag(self, last_offsets: dict[Any, int]) -> None:
        consumer = self.app.consumer
        self.metrics.stale_discarded_total = getattr(consumer, "discarded_total", 0)
        for tp, offset in last_offsets.items():
            try:
                self.metrics.lag[tp.partition] = max(0, consumer.highwater(tp) - offset - 1)
            except Exception:  # highwater is unknown right after a rebalance
                continue
