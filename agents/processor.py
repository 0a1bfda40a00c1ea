"""The processing agent's batch step: decode, dead-letter, run the engine per contact, emit, persist.

Per batch and per contact: one state read, the engine's `step` for each of the contact's events in
order, one state write. Actions go to `actions.<channel>`, step records to `analytics`, wake-ups to the
`timers` table and the timer service.

Crash safety without transactions: every action and step record of the batch is flushed to Kafka
*before* any state that says "done" is written. A crash before the flush leaves the old state (and old
offsets), so the events are processed again and re-emit actions with the same deterministic ids (the
sinks drop them). A crash after it finds the new state, whose last applied offset makes the replayed
events no-ops.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import orjson

from agents.definitions import DefinitionCache, apply_migrations
from agents.gaps import GapGuard, stalled_partitions
from agents.metrics import Metrics
from agents.outbox import Outbox
from agents.scoring import Predictions, is_ml_wakeup, pending_ml_timers
from agents.timers import TIMER_EVENT, TimerService
from engine.events import DAY_MS, Limits, Malformed, decode_event
from engine.pending import pending_timers
from engine.step import step
from engine.types import ContactState, Event
from tables.contacts import ContactStore
from tables.direct import DirectTable
from tables.progress import ProgressStore
from tables.timers import TimerStore

log = logging.getLogger("switchyard.processor")
MAX_FUTURE_MS = DAY_MS  # events stamped more than a day ahead of the worker's clock are refused


@dataclass(frozen=True)
class Outputs:
    """Names of the topics the processor produces to."""

    dlq: str
    analytics: str
    actions: dict[str, str]
    events: str


def dead_letter_headers(message: Any, problem: Malformed) -> list[tuple[str, bytes]]:
    return [
        ("x-switchyard-reason", problem.reason.encode()),
        ("x-switchyard-detail", problem.detail.encode("utf-8", "replace")),
        ("x-switchyard-source-topic", str(message.topic).encode()),
        ("x-switchyard-source-partition", str(message.partition).encode()),
        ("x-switchyard-source-offset", str(message.offset).encode()),
    ]


def all_pending(state: ContactState | None) -> list[tuple[int, str, str]]:
    """The wake-ups the state expects: the engine's (waits, trigger timers), the models' (label windows)."""
    return sorted(pending_timers(state) + pending_ml_timers((state or {}).get("ml")))


@dataclass
class Staged:
    """A contact whose state changed in this batch, waiting for the flush before it is written."""

    contact_id: str
    partition: int
    state: ContactState
    timers_before: list[tuple[int, str, str]]
    # Re-delivered events met a state that had already applied them: that state may exist only in the
    # local RocksDB file (a crash between the write and its changelog record), so it is written again.
    republish: bool = False


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
        self.gaps = GapGuard(progress.load) if progress is not None else None
        self.generation = -1
        self.effects = effects  # the batch's actions, step records, predictions and dead letters
        self.changelog = changelog  # the batch's table changelog records (sent after the effects)
        self.tables: list[DirectTable] = [store.table, timer_store.table]
        if progress is not None:
            self.tables.append(progress.table)

    def send(self, topic: str, key: bytes | None, value: bytes | None, headers: Any = None) -> None:
        self.effects.add(topic, key, value, headers)

    async def unstall(self, assigned: list[Any], quiet_s: float = 10.0) -> None:
        """Seek back partitions that stopped delivering although their log has more (a hole at the tail)."""
        if self.gaps is None or self.progress is None:
            return
        now = time.monotonic()
        positions = {}
        for tp in assigned:
            try:
                end = self.app.consumer.highwater(tp)
            except Exception:  # not known right after an assignment
                continue
            seen_at = self.gaps.seen_at.setdefault(tp, now)
            positions[tp] = (self.progress.load(tp.partition), end, seen_at)
        for tp, offset in stalled_partitions(positions, now, quiet_s).items():
            log.warning("partition %s: no records for %.0f s although the log has more; seeking back to %d",
                        tp.partition, quiet_s, offset)  # fmt: skip
            self.gaps.rewinding[tp] = offset
            self.gaps.seen_at[tp] = now
            await self.app.consumer.seek(tp, offset)

    async def handle(self, batch: Sequence[Any]) -> None:
        metrics = self.metrics
        metrics.observe_batch(len(batch))
        if self.gaps is not None:
            if self.app.rebalancing_count != self.generation:
                self.generation = self.app.rebalancing_count
                self.gaps.reset()
            batch, seeks = self.gaps.admit(batch)
            for tp, offset in seeks.items():
                await self.app.consumer.seek(tp, offset)
        limits = replace(self.limits, max_ts=min(self.limits.max_ts, int(time.time() * 1000) + MAX_FUTURE_MS))
        workflows = self.definitions.current()
        by_contact: dict[str, list[tuple[Any, Event]]] = {}
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
        replayed = 0
        states = self._load(by_contact)
        for contact_id, items in by_contact.items():
            partition = items[0][0].message.partition  # the key is the contact id: one partition per contact
            state = states[contact_id]
            timers_before = all_pending(state)
            migrated: list[dict[str, Any]] = []
            if state is not None and self.definitions.migrations:
                state, migrated = apply_migrations(
                    state, workflows, self.definitions.migrations, items[0][1]["ts"]
                )
            changed = skipped = False
            for item, event in items:
                offset = item.message.offset
                if state is not None and offset <= state["offset"]:
                    replayed += 1
                    skipped = True
                    continue
                state = self._apply(state, event, item.message)
                changed = True
            if (changed or skipped) and state is not None:
                if migrated:  # identified by the first event of the batch that moved the run
                    source = f"{partition}:{items[0][0].message.offset}:m"
                    context = {"event_id": "", "event_type": "migration", "source": source}
                    self._emit_records(contact_id.encode(), migrated, context)
                staged.append(Staged(contact_id, partition, state, timers_before, republish=skipped))
        metrics.replayed_total += replayed
        if replayed:
            log.info("skipped %d already-applied event(s) (re-delivered offsets)", replayed)

        for table in self.tables:  # changelog records acknowledged since the last batch
            table.note_persisted()
        delivered = await self.effects.flush()
        if delivered:
            await asyncio.gather(*delivered)  # effects are in Kafka before any state says they happened
        for entry in staged:
            # Timers before state: a crash between the two leaves the old state, whose replay re-derives the
            # same timers; the other order could leave a state waiting on a timer that was never stored.
            timers_after = all_pending(entry.state)
            if timers_after != entry.timers_before or (entry.republish and timers_after):
                self.timer_store.save(entry.partition, entry.contact_id, timers_after)
            self.store.save(entry.partition, entry.state)
            for due, token, kind in set(timers_after) - set(entry.timers_before):
                self.timer_service.add(entry.contact_id, due, token, kind)
        if self.progress is not None:
            for tp, offset in last_offsets.items():
                # Written for every batch, even when re-deliveries leave it where it was: the local row can
                # be ahead of its changelog after a crash, and the changelog is what a restore reads.
                done = self.progress.load(tp.partition)
                self.progress.save(tp.partition, offset if done is None else max(done, offset))
        # Not awaited: Faust flushes the producer before it commits the batch's offsets.
        await self.changelog.flush()
        self._update_lag(last_offsets)

    def _load(self, by_contact: dict[str, list[tuple[Any, Event]]]) -> dict[str, ContactState | None]:
        """Every contact's state, read with one multi-get per partition."""
        by_partition: dict[int, list[str]] = {}
        for contact_id, items in by_contact.items():
            by_partition.setdefault(items[0][0].message.partition, []).append(contact_id)
        states: dict[str, ContactState | None] = {}
        for partition, contact_ids in by_partition.items():
            states.update(zip(contact_ids, self.store.load_many(partition, contact_ids), strict=True))
        return states

    def _apply(self, state: ContactState | None, event: Event, message: Any) -> ContactState | None:
        """One event through the engine and the models; an engine failure dead-letters the event."""
        if state is not None and is_ml_wakeup(event):  # a label window closed: the models' business only
            return self._score({**state, "offset": message.offset}, event, message.key)
        try:
            result = step(state, event, self.definitions.workflows, event["ts"])
        except Exception as exc:  # an engine bug must not stop the partition; the event is kept in the DLQ
            log.exception("step failed for event %s of contact %s", event["event_id"], event["contact_id"])
            self._dead_letter(message, Malformed("processing_error", f"{type(exc).__name__}: {exc}"))
            if state is not None:
                state = {**state, "offset": message.offset}
            return state
        new_state = result.state
        new_state["offset"] = message.offset
        self.metrics.applied_total += 1
        key = message.key
        for action in result.actions:
            channel = action["channel"]
            self.send(self.outputs.actions[channel], key, orjson.dumps(action))
            self.metrics.observe_action(channel)
        if result.trace:
            self._emit_records(key, result.trace, self._record_context(event, message))
        return self._score(new_state, event, key, result.actions)

    def _score(
        self, state: ContactState, event: Event, key: bytes, actions: Sequence[dict[str, Any]] = ()
    ) -> ContactState:
        if self.predictions is None:
            return state
        try:
            state, predicted = self.predictions.observe(state, event, actions)
        except Exception:  # a model problem must not cost the event: it is applied, only unscored
            log.exception("scoring failed for event %s", event["event_id"])
            return state
        for prediction in predicted:
            self.send(self.outputs.events, key, orjson.dumps(prediction))
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

    def _dead_letter(self, message: Any, problem: Malformed) -> None:
        self.metrics.observe_dead_letter(problem.reason)
        self.send(self.outputs.dlq, message.key, message.value, dead_letter_headers(message, problem))

    def _update_lag(self, last_offsets: dict[Any, int]) -> None:
        consumer = self.app.consumer
        self.metrics.stale_discarded_total = getattr(consumer, "discarded_total", 0)
        for tp, offset in last_offsets.items():
            try:
                self.metrics.lag[tp.partition] = max(0, consumer.highwater(tp) - offset - 1)
            except Exception:  # highwater is unknown right after a rebalance
                continue
