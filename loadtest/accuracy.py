"""The accuracy oracle applied to a finished run: what is in the run's topics, against loadtest.oracle.

- ``delivered_events`` reads the run's `events` topic partition by partition in offset order (so the
  worker's own `timer.fired` wake-ups are where the worker met them), decodes every record as the worker
  does, and groups the events by contact in that order, with each one's ``partition:offset``. It counts
  the wake-ups fired before their due time (``fired_at < due``: the timer service never fires early).
- ``replay`` is ``oracle.expected_actions`` that also remembers which event caused each action (a
  wake-up or a produced event), for the latency split in loadtest.meter, and keeps the step records
  with the ids the worker gives them (``<partition:offset of the cause>/<index in its trace>``), for
  loadtest.analytics_check. Like the worker, it hands a model wake-up of a known contact to nobody: the
  worker gives those to its models only and never to ``step``. Replaying the wake-ups as delivered, it
  cannot expect the actions of one the worker never fired; so after each contact it counts the timers
  the replayed state still waits for (engine.pending) that were due by ``due_by``: missed wake-ups.
- ``emitted_actions`` reads every `actions.<channel>` topic to its end: after a crash the same ids come
  again, so nothing here counts records to decide when to stop.
- ``Verdict.ok``: the comparison is clean and nothing went where the comparison cannot see it: no step
  failure in the replay and no malformed event (the worker dead-letters both and emits nothing for
  them, so both sides would agree on nothing), no dead letter, no missed and no early wake-up.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from agents.kafka_admin import end_offsets
from agents.topic_reader import Record, read_to_end
from agents.topics import ACTION_CHANNELS, EVENTS_DLQ, action_topic
from engine.events import Limits, Malformed, decode_event
from engine.pending import pending_timers
from engine.step import TIMER_EVENT
from engine.types import Event
from engine.workflows import WorkflowSet
from loadtest.oracle import EXAMPLE_LIMIT, Action, Comparison, ContactReplay, compare
from ml.labels import ML_TIMER_KIND


@dataclass
class Delivered:
    by_contact: dict[str, list[Event]]
    records: int
    wakeups: int
    malformed: int
    sources: dict[str, list[str]] = field(default_factory=dict)  # "partition:offset", as by_contact
    repeated: int = 0  # records of an event (id and time) already delivered: the oracle counts it once
    early: int = 0  # wake-up records fired before their due time (repeated ones included)
    early_examples: list[str] = field(default_factory=list)  # "partition:offset" of a few


def fired_early(event: Event) -> bool:
    """A wake-up whose ``fired_at`` is before its ``due``."""
    props = event["properties"]
    fired_at, due = props.get("fired_at"), props.get("due")
    return isinstance(fired_at, int) and isinstance(due, int) and fired_at < due


def source_of(partition: int, offset: int) -> str:
    """How the worker names the cause of a step record (agents/processor.py)."""
    return f"{partition}:{offset}"


async def delivered_events(bootstrap: str, topic: str) -> Delivered:
    return delivered_from(await read_to_end(bootstrap, topic))


def delivered_from(read: Iterable[Record]) -> Delivered:
    """The records of `events`, in any order, as ``delivered_events`` describes them."""
    records = sorted(read, key=lambda r: (r.partition, r.offset))
    by_contact: dict[str, list[Event]] = {}
    sources: dict[str, list[str]] = {}
    wakeups = malformed = repeated = early = 0
    early_examples: list[str] = []
    limits = Limits()
    seen: set[tuple[str, str, int]] = set()
    for record in records:
        event = decode_event(record.value, record.key, limits)
        if isinstance(event, Malformed):  # the worker dead-letters these and changes nothing
            malformed += 1
            continue
        if event["type"] == TIMER_EVENT and fired_early(event):
            early += 1
            if len(early_examples) < EXAMPLE_LIMIT:
                early_examples.append(source_of(record.partition, record.offset))
        identity = (event["contact_id"], event["event_id"], event["ts"])
        if identity in seen:  # a retried or re-delivered event: what the stream means has it once
            repeated += 1
            continue
        seen.add(identity)
        wakeups += event["type"] == TIMER_EVENT
        by_contact.setdefault(event["contact_id"], []).append(event)
        sources.setdefault(event["contact_id"], []).append(source_of(record.partition, record.offset))
    return Delivered(by_contact, len(records), wakeups, malformed, sources, repeated, early, early_examples)


def is_model_wakeup(event: Event) -> bool:
    """A wake-up of the models' label windows (agents.scoring.is_ml_wakeup, without importing the models)."""
    return event["type"] == TIMER_EVENT and event["properties"].get("kind") == ML_TIMER_KIND


class AttributedReplay:
    """A contact's ContactReplay that notes, per action id, whether a wake-up caused it, and keeps every step
    record as the worker emits it (the trace entry plus its ``source`` and ``seq``). It holds the replay
    rather than extending it: a compiled engine (`make native`) has classes Python cannot subclass."""

    def __init__(
        self, workflows: WorkflowSet, timer_caused: dict[str, bool], step_records: list[dict[str, Any]]
    ) -> None:
        self.replay = ContactReplay(workflows)
        self.timer_caused = timer_caused
        self.step_records = step_records

    def apply(self, event: Event, source: str = "") -> None:
        replay = self.replay
        if replay.state is not None and is_model_wakeup(event):
            return
        before, traced = len(replay.actions), len(replay.trace)
        replay.apply(event)
        for action in replay.actions[before:]:
            self.timer_caused.setdefault(str(action["action_id"]), event["type"] == TIMER_EVENT)
        for seq, record in enumerate(replay.trace[traced:]):
            self.step_records.append({**record, "source": source, "seq": seq})


@dataclass
class Expected:
    actions: list[Action]
    timer_caused: dict[str, bool]
    step_failures: int
    step_records: list[dict[str, Any]] = field(default_factory=list)
    missed_wakeups: int = 0  # timers due by `due_by` that the replayed states still wait for
    missed_examples: list[str] = field(default_factory=list)  # "<contact> <token> due <ms>" of a few


def replay(
    events_by_contact: Mapping[str, Sequence[Event]],
    workflows: WorkflowSet,
    sources: Mapping[str, Sequence[str]] | None = None,
    due_by: int | None = None,
) -> Expected:
    """The same actions as ``oracle.expected_actions``, plus what caused each one, and the step records
    (``sources``: each event's ``partition:offset``, as ``events_by_contact``; without them the records'
    sources are empty). With ``due_by`` (epoch ms), the timers still pending at the end of a contact's
    replay whose due time is at or before it are missed wake-ups: the worker should have fired them."""
    timer_caused: dict[str, bool] = {}
    actions: list[Action] = []
    step_records: list[dict[str, Any]] = []
    failures = missed = 0
    missed_examples: list[str] = []
    for contact in sorted(events_by_contact):
        contact_replay = AttributedReplay(workflows, timer_caused, step_records)
        events = events_by_contact[contact]
        causes = sources.get(contact, ()) if sources is not None else ()
        for index, event in enumerate(events):
            contact_replay.apply(event, causes[index] if index < len(causes) else "")
        actions.extend(contact_replay.replay.actions)
        failures += contact_replay.replay.failures
        if due_by is not None:
            for due, token, _ in pending_timers(contact_replay.replay.state):
                if due <= due_by:
                    missed += 1
                    if len(missed_examples) < EXAMPLE_LIMIT:
                        missed_examples.append(f"{contact} {token} due {due}")
    return Expected(actions, timer_caused, failures, step_records, missed, missed_examples)


@dataclass
class Emitted:
    actions: list[dict[str, Any]]
    timestamps: list[int]  # record timestamp of each action, same order
    by_channel: dict[str, int] = field(default_factory=dict)


async def emitted_actions(bootstrap: str, prefix: str) -> Emitted:
    out = Emitted([], [])
    for channel in ACTION_CHANNELS:
        records = await read_to_end(bootstrap, prefix + action_topic(channel))
        kept = [r for r in records if r.value]
        out.actions.extend(orjson.loads(r.value) for r in kept if r.value)
        out.timestamps.extend(r.timestamp for r in kept)
        if kept:
            out.by_channel[channel] = len(kept)
    return out


@dataclass
class Verdict:
    comparison: Comparison
    expected: Expected
    emitted: Emitted
    delivered: Delivered
    dead_letters: int = 0  # records in the run's `events.dlq`

    @property
    def ok(self) -> bool:
        """The comparison is clean, and no event or wake-up went where the comparison cannot see it."""
        unseen = (
            self.expected.step_failures, self.delivered.malformed, self.dead_letters,
            self.expected.missed_wakeups, self.delivered.early,
        )  # fmt: skip
        return self.comparison.ok and not any(unseen)

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.comparison.as_dict(),
            "events_in_topic": self.delivered.records,
            "wakeups_in_topic": self.delivered.wakeups,
            "malformed_in_topic": self.delivered.malformed,
            "repeated_in_topic": self.delivered.repeated,
            "contacts": len(self.delivered.by_contact),
            "oracle_step_failures": self.expected.step_failures,
            "dead_letters": self.dead_letters,
            "missed_wakeups": self.expected.missed_wakeups,
            "early_wakeups": self.delivered.early,
            "examples_of_wakeups": {"missed": self.expected.missed_examples,
                                    "early": self.delivered.early_examples},
            "emitted_by_channel": self.emitted.by_channel,
            "comparison_ok": self.comparison.ok,
            "ok": self.ok,
        }  # fmt: skip


async def check(bootstrap: str, prefix: str, workflows: WorkflowSet, due_by: int | None = None) -> Verdict:
    """The oracle over the run's topics (``prefix``); ``due_by``: see ``replay``."""
    delivered = await delivered_events(bootstrap, prefix + "events")
    expected = replay(delivered.by_contact, workflows, delivered.sources, due_by)
    emitted = await emitted_actions(bootstrap, prefix)
    dead_letters = sum((await end_offsets(bootstrap, prefix + EVENTS_DLQ)).values())
    comparison = compare(expected.actions, emitted.actions)
    return Verdict(comparison, expected, emitted, delivered, dead_letters)
