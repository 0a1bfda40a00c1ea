"""Measurement of a load-test run: consumer lag and throughput every second while it runs, and end-to-end
latency of the actions afterwards.

- ``OffsetProbe`` reads the worker group's committed offsets and the `events` end offsets (what
  ``agents.kafka_admin.group_lag`` computes, through clients kept open for the whole run instead of
  new ones every second). Lag = end - committed; processed in a second = growth of the committed sum
  (the worker commits about once a second, so single seconds are lumpy; sums over a run are exact).
  Both count the worker's own `timer.fired` wake-ups, which are events on the same topic.
- ``Ticks`` collects one ``Tick`` per second; ``samples`` turns them, with the action arrivals, into
  ``report.Sample`` rows.
- Latency of an action = its arrival in `actions.*` - its triggering event's produce time. The action
  topics are created with ``message.timestamp.type=LogAppendTime``, so a record's timestamp is the
  broker's clock when the record was appended; the producer stamps every event's ``ts`` with the wall
  clock time its open-loop schedule sends it at (time it then waits in the producer counts), and an
  immediate action carries its event's ``ts``. Actions caused by a wake-up carry
  the due time instead: they are measured apart (arrival - due) and kept out of the main figures.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from loadtest.kafka_bench import LatencySummary, latency_summary
from loadtest.report import Sample


@dataclass(frozen=True)
class Offsets:
    end: int  # records in `events`
    committed: int  # records the group has committed

    @property
    def lag(self) -> int:
        return max(0, self.end - self.committed)


class OffsetProbe:
    """The group's progress on one topic: ``start`` once, ``read`` often, ``close`` at the end (or
    ``async with``, which starts and closes it)."""

    def __init__(self, bootstrap: str, group: str, topic: str, partitions: int) -> None:
        self.bootstrap = bootstrap
        self.group = group
        self.tps = [TopicPartition(topic, p) for p in range(partitions)]
        self.admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        self.consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)

    async def start(self) -> None:
        await self.admin.start()
        await self.consumer.start()

    async def read(self) -> Offsets:
        committed = await self.admin.list_consumer_group_offsets(self.group)
        ends: dict[TopicPartition, int] = await self.consumer.end_offsets(self.tps)
        done = 0
        for tp, end in ends.items():
            meta = committed.get(tp)
            done += min(end, meta.offset) if meta is not None and meta.offset >= 0 else 0
        return Offsets(sum(ends.values()), done)

    async def close(self) -> None:
        await self.consumer.stop()
        await self.admin.close()

    async def __aenter__(self) -> OffsetProbe:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def lags(self, every_s: float) -> AsyncIterator[int]:
        """The group's lag (end minus committed offsets, summed), now and then every ``every_s``, until the
        caller stops asking."""
        while True:
            yield (await self.read()).lag
            await asyncio.sleep(every_s)


@dataclass(frozen=True)
class Tick:
    t: float  # seconds since the run's clock started
    produced: int  # events of the producer the broker had acknowledged so far
    offsets: Offsets
    load1: float = 0.0  # the machine's 1-minute load average then (others share the cores)


def samples(ticks: Sequence[Tick], arrivals: Sequence[tuple[float, float]]) -> list[Sample]:
    """One Sample per tick. ``arrivals``: (seconds since start when an action arrived, its latency ms);
    each tick's actions and percentiles are those arrived in (previous tick, this tick], the first tick's
    all those arrived up to it. Ticks come about a second apart, not on whole seconds, so bucketing by
    whole seconds would leave the first one out (it once hid the run's slowest second)."""
    ordered = sorted(arrivals)
    taken = 0
    out: list[Sample] = []
    previous: Tick | None = None
    for tick in ticks:
        latencies: list[float] = []
        while taken < len(ordered) and ordered[taken][0] <= tick.t:
            latencies.append(ordered[taken][1])
            taken += 1
        lat = latency_summary(latencies) if latencies else None
        out.append(
            Sample(
                t=round(tick.t, 3),
                produced=tick.produced - (previous.produced if previous else 0),
                processed=max(0, tick.offsets.committed - (previous.offsets.committed if previous else 0)),
                lag=tick.offsets.lag,
                actions=len(latencies),
                p50_ms=lat.p50_ms if lat else None,
                p95_ms=lat.p95_ms if lat else None,
                p99_ms=lat.p99_ms if lat else None,
            )
        )
        previous = tick
    return out


# -- latency ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Arrival:
    """The first copy of one action id on `actions.*`."""

    action_id: str
    ts: int  # the action's own ts (event time of its cause)
    arrived_ms: int  # the record's timestamp (LogAppendTime)


def first_arrivals(records: Iterable[tuple[Mapping[str, Any], int]]) -> dict[str, Arrival]:
    """(action, record timestamp) pairs -> the earliest copy of each action id."""
    out: dict[str, Arrival] = {}
    for action, timestamp in records:
        action_id = str(action["action_id"])
        known = out.get(action_id)
        if known is None or timestamp < known.arrived_ms:
            out[action_id] = Arrival(action_id, int(action["ts"]), timestamp)
    return out


@dataclass(frozen=True)
class LatencyFigures:
    immediate: LatencySummary  # actions caused by a produced event: arrival - produce time
    timer: LatencySummary  # actions caused by a wake-up: arrival - due time
    unattributed: int  # emitted ids the oracle does not know (so their cause is unknown)
    arrivals: list[tuple[float, float]]  # (seconds since start, latency ms) of the immediate ones

    def as_dict(self) -> dict[str, Any]:
        return {
            "immediate_ms": self.immediate.as_dict(),
            "timer_caused_ms": self.timer.as_dict(),
            "unattributed": self.unattributed,
            "timing": "action record LogAppendTime - triggering event ts (= its produce time); "
            "timer-caused actions: LogAppendTime - due time, kept apart",
        }


def latency_figures(
    arrivals: Mapping[str, Arrival], timer_caused: Mapping[str, bool], start_ms: int
) -> LatencyFigures:
    """Split the arrivals by cause (``timer_caused``: action id -> True when a wake-up caused it)."""
    immediate: list[tuple[float, float]] = []
    timer: list[float] = []
    unattributed = 0
    for action_id, arrival in arrivals.items():
        cause = timer_caused.get(action_id)
        latency = float(arrival.arrived_ms - arrival.ts)
        if cause is None:
            unattributed += 1
        elif cause:
            timer.append(latency)
        else:
            immediate.append(((arrival.arrived_ms - start_ms) / 1000, latency))
    immediate.sort()
    return LatencyFigures(
        immediate=latency_summary(latency for _, latency in immediate),
        timer=latency_summary(timer),
        unattributed=unattributed,
        arrivals=immediate,
    )
