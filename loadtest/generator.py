"""Synthetic contact traffic with known ground truth, in the Switchyard event contract.

``generate(spec)`` plans every contact's life (loadtest.behaviour) over ``spec.story_days`` of behaviour,
picks the activity level so that there are a little more events than asked for, drops optional events
(visits and opens that no ground truth depends on) down to exactly ``spec.events``, and stamps them:

- steady (load tests): the events keep their behaviour order and are spread evenly over
  ``duration_ms``, so every second of the stream holds ``rate`` events; behaviour days are compressed.
- real time (ML, ``StreamSpec.real_time``): ``ts`` is the behaviour time itself, so days, local hours and
  label windows mean what they say; the rate is whatever the behaviour gives.

Everything is drawn from ``random.Random`` instances seeded from ``spec.seed`` (one per contact), so the
same spec gives the same stream, ids included. With ``topics``, content events also carry a topic drawn
from the contact's latent taste (loadtest.content, from a separate generator per contact, so the rest of
the stream is the same as without).
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engine.durations import DAY
from engine.types import Event
from loadtest.behaviour import LifePlanner, LocalClock, Plan, Planned, draw_traits
from loadtest.content import topic_random, with_topics
from loadtest.exceptions import GeneratorConfigError
from loadtest.kafka_bench import Record, contact_id, encode_event
from loadtest.truth import ContactTruth

OVERSHOOT = 1.12  # plan this many times the events asked for, then thin the optional ones
PILOT_CONTACTS = 300
MAX_ATTEMPTS = 8
# (behaviour ms, contact index, seq, planned event): sorts in stream order
Row = tuple[int, int, int, Planned]


@dataclass(frozen=True)
class StreamSpec:
    """What to generate. Use ``at_rate``, ``for_events`` or ``real_time`` rather than the fields."""

    contacts: int
    events: int
    start_ms: int  # ts of the stream's beginning (epoch ms)
    duration_ms: int  # every ts is in [start_ms, start_ms + duration_ms)
    seed: int = 7
    story_days: float = 30.0  # behaviour time the stream tells
    steady: bool = True  # spread ts evenly (load test) instead of keeping behaviour time
    convert_window_days: float = 14.0  # ground truth will_convert: bought within this of signup
    prefix: str = "lt"  # contact ids are prefix + 7 digits; event ids start with it too
    topics: bool = False  # content events carry a topic; traits get a topic taste (loadtest.content)

    def __post_init__(self) -> None:
        if self.contacts <= 0 or self.events <= 0 or self.duration_ms <= 0 or self.story_days <= 0:
            raise GeneratorConfigError("contacts, events, duration and story days must all be positive")
        if not self.steady and self.duration_ms != round(self.story_days * DAY):
            raise GeneratorConfigError("a real-time stream lasts exactly its story days")

    @classmethod
    def at_rate(
        cls,
        rate: float,
        seconds: float,
        *,
        contacts: int,
        start_ms: int,
        seed: int = 7,
        story_days: float = 30.0,
        prefix: str = "lt",
    ) -> StreamSpec:
        """``rate`` events per second for ``seconds`` (e.g. 1,000 ev/s x 60 s = 60,000 events)."""
        return cls(
            contacts, round(rate * seconds), start_ms, round(seconds * 1000), seed, story_days, prefix=prefix
        )

    @classmethod
    def for_events(
        cls,
        events: int,
        rate: float,
        *,
        contacts: int,
        start_ms: int,
        seed: int = 7,
        story_days: float = 30.0,
        prefix: str = "lt",
    ) -> StreamSpec:
        """``events`` events at a mean ``rate`` per second (the duration follows)."""
        if rate <= 0:
            raise GeneratorConfigError("the rate must be positive")
        return cls(
            contacts, events, start_ms, math.ceil(events / rate * 1000), seed, story_days, prefix=prefix
        )

    @classmethod
    def real_time(
        cls,
        *,
        contacts: int,
        events: int,
        days: float,
        start_ms: int,
        seed: int = 7,
        convert_window_days: float = 14.0,
        prefix: str = "lt",
        topics: bool = False,
    ) -> StreamSpec:
        """Behaviour time is event time: ``days`` of life of ``contacts`` contacts, ``events`` in all."""
        span = round(days * DAY)
        return cls(contacts, events, start_ms, span, seed, days, False, convert_window_days, prefix, topics)

    @property
    def rate(self) -> float:
        """Mean events per second of event time."""
        return self.events / (self.duration_ms / 1000)


@dataclass(frozen=True)
class Traffic:
    spec: StreamSpec
    events: list[Event]  # in global time order (ts non-decreasing)
    truth: dict[str, ContactTruth]  # by contact id, in contact order
    activity: float  # the sessions-per-day scale the calibration settled on

    def by_contact(self) -> dict[str, list[Event]]:
        grouped: dict[str, list[Event]] = {}
        for event in self.events:
            grouped.setdefault(event["contact_id"], []).append(event)
        return grouped

    def records(self) -> list[Record]:
        """(key, JSON value) pairs for a producer; the key is the contact id."""
        return [
            (
                e["contact_id"].encode(),
                encode_event(e["event_id"], e["contact_id"], e["type"], e["ts"], e["properties"]),
            )
            for e in self.events
        ]

    def truth_rows(self) -> list[dict[str, Any]]:
        return [truth.as_dict() for truth in self.truth.values()]


def generate(spec: StreamSpec) -> Traffic:
    span = round(spec.story_days * DAY)
    ids = [contact_id(spec.prefix, index) for index in range(spec.contacts)]
    clock = LocalClock()
    target = spec.events * OVERSHOOT
    fixed, per_activity = _pilot(spec, ids, span, clock)
    if fixed >= spec.events:
        raise GeneratorConfigError(
            f"{spec.events} events cannot cover {spec.contacts} contacts: their signups alone take about "
            f"{fixed:.0f}; ask for at least {math.ceil(2 * fixed / spec.contacts)} events per contact"
        )
    activity = max(0.0, (target - fixed) / per_activity)
    slope = per_activity
    for _ in range(MAX_ATTEMPTS):
        plans = [_plan(spec, index, ids[index], span, clock, activity) for index in range(spec.contacts)]
        planned = sum(len(plan.events) for plan in plans)
        required = sum(1 for plan in plans for event in plan.events if not event.optional)
        if required <= spec.events <= planned:
            return _assemble(spec, ids, plans, span, activity)
        # planned ~ fixed + activity * slope: re-aim with the slope this attempt showed
        if activity > 0 and planned > fixed:
            slope = (planned - fixed) / activity
        target = fixed + (target - fixed) * (0.85 if required > spec.events else 1.05)
        activity = max(0.0, (target - fixed) / slope)
    raise GeneratorConfigError(
        f"could not plan {spec.events} events for {spec.contacts} contacts in {MAX_ATTEMPTS} attempts; "
        "try more events per contact"
    )


def _plan(spec: StreamSpec, index: int, contact: str, span: int, clock: LocalClock, activity: float) -> Plan:
    rng = random.Random(f"{spec.seed}:{index}")
    traits = draw_traits(rng)
    plan = LifePlanner(rng, contact, traits, spec.start_ms, span, clock).plan(activity)
    return with_topics(plan, topic_random(spec.seed, index)) if spec.topics else plan


def _pilot(spec: StreamSpec, ids: list[str], span: int, clock: LocalClock) -> tuple[float, float]:
    """(events at no activity, extra events per unit of activity), for all contacts, from a sample."""
    sample = range(min(PILOT_CONTACTS, spec.contacts))
    idle = sum(len(_plan(spec, i, ids[i], span, clock, 0.0).events) for i in sample)
    busy = sum(len(_plan(spec, i, ids[i], span, clock, 1.0).events) for i in sample)
    scale = spec.contacts / len(sample)
    return idle * scale, max(1e-9, (busy - idle) * scale)


def _assemble(spec: StreamSpec, ids: list[str], plans: list[Plan], span: int, activity: float) -> Traffic:
    rows: list[Row] = [(e.t, index, e.seq, e) for index, plan in enumerate(plans) for e in plan.events]
    optional = [position for position, row in enumerate(rows) if row[3].optional]
    dropped = set(random.Random(f"{spec.seed}:thin").sample(optional, len(rows) - spec.events))
    kept = sorted(row for position, row in enumerate(rows) if position not in dropped)
    story_times = [row[0] for row in kept]
    count = len(kept)

    def stamp(position: int, t: int) -> int:
        if spec.steady:
            return spec.start_ms + position * spec.duration_ms // count
        return spec.start_ms + t

    events: list[Event] = []
    for position, (t, index, _, planned) in enumerate(kept):
        events.append(
            {
                "event_id": f"{spec.prefix}-s{spec.seed}-{position:09d}",
                "contact_id": ids[index],
                "type": planned.type,
                "ts": stamp(position, t),
                "properties": planned.properties,
            }
        )

    def quiet_ts(t: int) -> int:
        return stamp(bisect_right(story_times, t), t)

    return Traffic(spec, events, _truths(spec, ids, plans, kept, events, quiet_ts), activity)


@dataclass
class _Seen:
    """What one contact did in the final stream."""

    signup_ms: int = 0
    events: int = 0
    carts: int = 0
    purchase_ms: list[int] = field(default_factory=list)
    purchase_days: list[float] = field(default_factory=list)


def _truths(
    spec: StreamSpec,
    ids: list[str],
    plans: list[Plan],
    kept: list[Row],
    events: list[Event],
    quiet_ts: Callable[[int], int],
) -> dict[str, ContactTruth]:
    seen = [_Seen() for _ in plans]
    for (t, index, _, planned), event in zip(kept, events, strict=True):
        facts = seen[index]
        facts.events += 1
        if planned.type == "contact.added":
            facts.signup_ms = event["ts"]
        elif planned.type == "cart.created":
            facts.carts += 1
        elif planned.type == "purchase":
            facts.purchase_ms.append(event["ts"])
            facts.purchase_days.append((t - plans[index].signup) / DAY)
    return {
        ids[index]: ContactTruth(
            contact_id=ids[index],
            traits=plan.traits,
            signup_ms=facts.signup_ms,
            churned=plan.quiet_at is not None,
            quiet_from_ms=quiet_ts(plan.quiet_at) if plan.quiet_at is not None else None,
            purchase_ms=tuple(facts.purchase_ms),
            purchase_days=tuple(facts.purchase_days),
            carts=facts.carts,
            events=facts.events,
            will_convert=any(day <= spec.convert_window_days for day in facts.purchase_days),
        )
        for index, (plan, facts) in enumerate(zip(plans, seen, strict=True))
    }
