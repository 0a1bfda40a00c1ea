"""The accuracy oracle applied to a finished run: what is in the run's topics, against loadtest.oracle.

- ``delivered_events`` reads the run's `events` topic partition by partition in offset order (so the
  worker's own `timer.fired` wake-ups are where the worker met them), decodes every record as the worker
  does, and groups the events by contact in that order.
- ``replay`` is ``oracle.expected_actions`` that also remembers which event caused each action (a
  wake-up or a produced event), for the latency split in loadtest.meter.
- ``emitted_actions`` reads every `actions.<channel>` topic to its end: after a crash the same ids come
  again, so nothing here counts records to decide when to stop.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from agents.topics import ACTION_CHANNELS, action_topic
from engine.events import Limits, Malformed, decode_event
from engine.step import TIMER_EVENT
from engine.types import Event
from engine.workflows import WorkflowSet
from loadtest.oracle import Action, Comparison, ContactReplay, compare
from switchyard.inspect import read_to_end


@dataclass
class Delivered:
    by_contact: dict[str, list[Event]]
    records: int
    wakeups: int
    malformed: int


async def delivered_events(bootstrap: str, topic: str) -> Delivered:
    records = sorted(await read_to_end(bootstrap, topic), key=lambda r: (r.partition, r.offset))
    by_contact: dict[str, list[Event]] = {}
    wakeups = malformed = 0
    limits = Limits()
    for record in records:
        event = decode_event(record.value, record.key, limits)
        if isinstance(event, Malformed):  # the worker dead-letters these and changes nothing
            malformed += 1
            continue
        wakeups += event["type"] == TIMER_EVENT
        by_contact.setdefault(event["contact_id"], []).append(event)
    return Delivered(by_contact, len(records), wakeups, malformed)


class AttributedReplay(ContactReplay):
    """A ContactReplay that notes, per action id, whether a wake-up caused it."""

    def __init__(self, workflows: WorkflowSet, timer_caused: dict[str, bool]) -> None:
        super().__init__(workflows)
        self.timer_caused = timer_caused

    def apply(self, event: Event) -> None:
        before = len(self.actions)
        super().apply(event)
        for action in self.actions[before:]:
            self.timer_caused.setdefault(str(action["action_id"]), event["type"] == TIMER_EVENT)


@dataclass
class Expected:
    actions: list[Action]
    timer_caused: dict[str, bool]
    step_failures: int


def replay(events_by_contact: Mapping[str, Sequence[Event]], workflows: WorkflowSet) -> Expected:
    """The same actions as ``oracle.expected_actions``, plus what caused each one."""
    timer_caused: dict[str, bool] = {}
    actions: list[Action] = []
    failures = 0
    for contact in sorted(events_by_contact):
        contact_replay = AttributedReplay(workflows, timer_caused)
        for event in events_by_contact[contact]:
            contact_replay.apply(event)
        actions.extend(contact_replay.actions)
        failures += contact_replay.failures
    return Expected(actions, timer_caused, failures)


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

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.comparison.as_dict(),
            "events_in_topic": self.delivered.records,
            "wakeups_in_topic": self.delivered.wakeups,
            "malformed_in_topic": self.delivered.malformed,
            "contacts": len(self.delivered.by_contact),
            "oracle_step_failures": self.expected.step_failures,
            "emitted_by_channel": self.emitted.by_channel,
        }


async def check(bootstrap: str, prefix: str, workflows: WorkflowSet) -> Verdict:
    delivered = await delivered_events(bootstrap, prefix + "events")
    expected = replay(delivered.by_contact, workflows)
    emitted = await emitted_actions(bootstrap, prefix)
    return Verdict(compare(expected.actions, emitted.actions), expected, emitted, delivered)
