"""Runtime benchmark: the streaming worker's events/s with 21 active workflows over 100k contacts, next to
baselines (a) raw aiokafka and (b) a bare Faust agent and the peer (q) quix-streams measured in the same run,
then with N workers.

    python -m loadtest.runtime_bench [--events 200000] [--contacts 100000] [--workers 1,2] [--baselines a,b,q]
                                     [--rate 1000] [--paced-seconds 10] [--profile-dir DIR] [--keep-broker]

Traffic: loadtest/runtime_workload.py (first sight of every contact, then a mixed stream in which most
events match no trigger, some start runs, some resolve waits, a few are backdated so their timers fire
during the run). Workflows: the 21 definitions of loadtest/step_bench.py. (a) and (b) are
loadtest.baseline's own paths on the mixed stream and the paced events.

Per runtime run (fresh topics, app id and data dirs; N workers share the app id, each has its own
SWITCHYARD_DATA; state, timers, actions and step records are always on in the worker):
1. publish the 21 workflows to the run's `workflows` topic (agents.catalog plan_publish/write_records);
2. preload the first-sight events, start the N workers, wait for lag 0, stop them (first-sight figure);
3. preload the mixed stream while no worker runs, start the N workers again. Every input event is in
   the topic before any timer fires, so wake-ups land behind the input in every partition and the
   input order is the same for any N. Throughput = mixed events / (first to last contacts-changelog
   record timestamp of this phase); the wake-ups are processed inside that span too;
4. paced phase: latency from each paced input record's create timestamp to its contact's changelog
   record (every applied event rewrites its contact's state once);
5. checks: committed lag 0, no dead letters, actions (records and distinct action ids), timers fired
   and still pending, against the window in which a timer would make the result depend on timing; the
   error lines of the workers' logs (a worker can pass every other check and still fail, e.g. on shutdown).
Results print as a table and go to reports/runtime.json. Broker: SWITCHYARD_KAFKA if set, else the
project's launcher on 127.0.0.1:19692 (work dir BENCH_ROOT/benchbroker2), stopped at the end when this run
started it. The run's topics and state directories are deleted at the end; logs stay in BENCH_ROOT/rtbench.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import platform
import pstats
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from aiokafka import TopicPartition

from agents.catalog import plan_publish, write_records
from agents.changelog import changelog_topic
from agents.kafka_admin import committed_offsets, end_offsets, ensure_worker_topics, group_lag
from agents.settings import Settings
from agents.timers import TIMER_EVENT
from agents.topic_reader import read_batches, read_to_end
from agents.topics import ACTION_CHANNELS, action_topic
from agents.worker_process import REPO
from engine.packing import unpack
from loadtest import quix_peer
from loadtest.baseline import (
    FAUST_READY,
    PATH_NAMES,
    STALL_S,
    BenchConfig,
    BenchError,
    Child,
    PathResult,
    child_env,
    delete_run_topics,
    machine_busy_seconds,
    paced_latency,
    python_cmd,
    run_passthrough,
    run_topics,
)
from loadtest.kafka_bench import (
    BENCH_ROOT,
    LatencySummary,
    bench_broker,
    edge_timestamps,
    latency_summary,
    preload,
    wait_for_leaders,
    write_report,
)
from loadtest.meter import OffsetProbe
from loadtest.runtime_workload import Workload, generate_workload
from loadtest.step_bench import definitions
from tables.codec import decode_state
from tables.contacts import CONTACTS_TABLE
from tables.timers import TIMERS_TABLE

BENCH_PORT = 19692
BENCH_CONTROLLER_PORT = 19693
BROKER_DIR = BENCH_ROOT / "benchbroker2"
WORK_DIR = BENCH_ROOT / "rtbench"
SETTLE_S = 2.0  # lag must stay 0 this long: the last batch's due timers are produced a tick later
TARGET_EVENTS_PER_S = 5000.0


@dataclass
class Phase:
    events: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


@dataclass
class TimerCheck:
    fired: int
    fired_distinct: int
    fired_due_max: int | None
    pending: int
    pending_due_min: int | None
    fired_due_max_kind: str | None = None  # the kind of the latest-due fired timer (wait, timeout, ...)


@dataclass
class RuntimeResult:
    workers: int
    first_sight: Phase
    mixed: Phase
    processed: int  # mixed events + wake-ups taken from `events` in the throughput phase
    lag_zero_s: float
    latency: LatencySummary
    paced_rate: float
    action_records: int
    actions_distinct: int
    action_digest: str
    actions_by_channel: dict[str, int]
    step_records: int
    dead_letters: int
    timers: TimerCheck
    lag_end: int
    started_ms: int
    ended_ms: int
    logs: list[str]
    applied: dict[str, dict[str, Any]] = field(default_factory=dict)
    profile: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    outputs_by_topic: dict[str, int] = field(default_factory=dict)  # records the workers wrote, per topic
    inputs: int = 0  # input events of all phases

    @property
    def outputs_per_input(self) -> float:
        return sum(self.outputs_by_topic.values()) / self.inputs if self.inputs else 0.0

    @property
    def stalls(self) -> dict[str, str]:
        """The phases ("first_sight", "mixed") whose lag stopped shrinking before 0, and how."""
        stalls: dict[str, str] = self.extra.get("stalls", {})
        return stalls

    @property
    def first_sight_rate(self) -> float | None:
        """Events/s of the first sights; None when the phase stalled: its events were not all applied, so
        its events over its changelog span is no rate at all."""
        return None if "first_sight" in self.stalls else self.first_sight.per_second

    @property
    def mixed_rate(self) -> float | None:
        """Events/s of the mixed stream; None when the phase stalled (see first_sight_rate)."""
        return None if "mixed" in self.stalls else self.mixed.per_second

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["first_sight"]["events_per_s"] = rounded(self.first_sight_rate)
        out["mixed"]["events_per_s"] = rounded(self.mixed_rate)
        stalled = self.mixed_rate is None or not self.mixed.seconds
        out["processed_per_s"] = None if stalled else round(self.processed / self.mixed.seconds, 1)
        out["latency_ms"] = self.latency.as_dict()
        out["outputs_per_input"] = round(self.outputs_per_input, 2)
        del out["latency"]
        return out


# -- pure helpers -----------------------------------------------------------------------------------


def action_digest(action_ids: Iterable[str]) -> str:
    """A short fingerprint of a set of action ids: equal sets, equal digests."""
    return hashlib.blake2b("\n".join(sorted(set(action_ids))).encode(), digest_size=8).hexdigest()


def timer_window_problems(check: TimerCheck, now_ms: int, first_start_ms: int, last_end_ms: int) -> list[str]:
    """Why the set of fired timers could differ between runs: a timer fired that was not due before the
    workload was generated, or one still pending that fell due before the last run ended."""
    problems: list[str] = []
    if check.fired_due_max is not None and check.fired_due_max >= min(now_ms, first_start_ms):
        problems.append(
            f"a fired timer ({check.fired_due_max_kind}) was due at {check.fired_due_max}, after the "
            f"workload's clock {now_ms}"
        )
    if check.pending_due_min is not None and check.pending_due_min <= last_end_ms:
        problems.append(
            f"a pending timer was due at {check.pending_due_min}, before the last run ended ({last_end_ms})"
        )
    return problems


def cpu_delta(before: Sequence[float | None], after: Sequence[float | None]) -> float | None:
    """CPU seconds the workers used between two readings, summed (None if any reading is missing)."""
    pairs = [(a, b) for a, b in zip(after, before, strict=True) if a is not None and b is not None]
    return round(sum(a - b for a, b in pairs), 2) if len(pairs) == len(before) else None


def cpu_line(r: RuntimeResult) -> str:
    """How busy the workers were in the mixed phase: tells a core limit from a scaling limit."""
    cpu, wall = r.extra.get("workers_cpu_s_mixed"), r.extra.get("workers_cpu_wall_s") or 0.0
    if cpu is None:
        return f"[{r.workers}w] workers' CPU in the mixed phase: not measured (no /proc, or it stalled)"
    line = (f"[{r.workers}w] workers' CPU from ready to lag 0 in the mixed phase: {cpu:.1f} s, "
            f"{1e6 * cpu / max(r.processed, 1):.0f} us per event, {cpu / max(wall, 1e-3):.2f} cores "
            f"busy on average over {wall:.1f} s ({os.cpu_count()} cores here)")  # fmt: skip
    machine = r.extra.get("machine_cpu_s_mixed")
    if machine is None:
        return line
    return (f"{line}; the whole machine {machine / max(wall, 1e-3):.2f} cores busy, "
            f"{max(machine - cpu, 0.0) / max(wall, 1e-3):.2f} of them beside the workers "
            "(the broker, this driver, the rest)")  # fmt: skip


ERROR_MARKS = ("] [ERROR] ", "] [CRITICAL] ", '"level":"error"', '"level":"critical"')  # Faust's format, JSON


def logged_errors(paths: Sequence[str]) -> list[str]:
    """The error and critical lines of the workers' logs (readable or JSON format), in order; a log that
    is missing counts as one error, since the run cannot vouch for it."""
    found: list[str] = []
    for path in paths:
        try:
            text = Path(path).read_text(errors="replace")
        except OSError as exc:
            found.append(f"{path}: not readable ({exc})")
            continue
        marked = [line.strip() for line in text.splitlines() if any(mark in line for mark in ERROR_MARKS)]
        found += [f"{Path(path).name}: {line}" for line in marked]
    return found


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """None when either side has no rate (a stalled phase) or the denominator is 0."""
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return round(numerator / denominator, 3)


def rounded(rate: float | None) -> float | None:
    return None if rate is None else round(rate, 1)


def format_rate(rate: float | None, width: int = 0) -> str:
    """A phase's events/s for the printed table: STALLED when it has none."""
    return f"{'STALLED' if rate is None else format(rate, ',.0f'):>{width}}"


def format_latency(lat: LatencySummary) -> str:
    missing = f"  ({lat.missing} missing)" if lat.missing else ""
    return f"{lat.p50_ms:>7.0f} {lat.p95_ms:>7.0f} {lat.p99_ms:>7.0f} {lat.max_ms:>7.0f}{missing}"


def table_lines(baselines: Sequence[PathResult], runs: Sequence[RuntimeResult]) -> list[str]:
    lines = [f"{'path':<28} {'events/s':>10} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7}"]
    for base in baselines:
        name = f"({base.path}) {PATH_NAMES[base.path]}"
        lines.append(f"{name:<28} {base.events_per_s:>10,.0f} {format_latency(base.latency)}")
    for run in runs:
        label = f"runtime, {run.workers} worker{'s' if run.workers > 1 else ''}"
        lines.append(f"{label:<28} {format_rate(run.mixed_rate, 10)} {format_latency(run.latency)}")
    return lines


# -- one runtime run --------------------------------------------------------------------------------


class Stalled(BenchError):
    """The group's committed lag stopped shrinking before it reached 0."""

    def __init__(self, lag: int, partitions: dict[int, tuple[int, int]]) -> None:
        stuck = {p: c for p, c in partitions.items() if c[0] != c[1]}
        super().__init__(
            f"lag {lag}, no longer shrinking; (committed, end) of the partitions behind: {stuck}"
        )
        self.lag = lag
        self.partitions = partitions


async def wait_lag_zero(
    bootstrap: str, group: str, topic: str, children: Sequence[Child], events: int, partitions: int
) -> int:
    """Until the group's committed lag on `topic` is 0 and stays 0 for SETTLE_S; returns when (wall ms).

    The lag is read through clients kept open for the wait (`OffsetProbe`), as (b)'s wait keeps its one
    client: two new clients every poll cost the broker and this driver CPU the workers need on 2 cores."""
    deadline = time.monotonic() + 120.0 + events / 300.0
    last_lag, last_change = -1, time.monotonic()
    zero_since: float | None = None
    async with OffsetProbe(bootstrap, group, topic, partitions) as probe:
        async for lag in probe.lags(every_s=0.25):
            for child in children:
                child.check_alive()
            now = time.monotonic()
            if lag == 0:
                zero_since = zero_since or now
                if now - zero_since >= SETTLE_S:
                    return int((time.time() - (now - zero_since)) * 1000)
            else:
                zero_since = None
            if lag != last_lag:
                last_lag, last_change = lag, now
            if now - last_change > STALL_S or now > deadline:
                raise Stalled(lag, await partition_lag(bootstrap, group, topic))
    raise AssertionError("unreachable: the lag readings never end")


async def partition_lag(bootstrap: str, group: str, topic: str) -> dict[int, tuple[int, int]]:
    """partition -> (committed offset, end offset) of the group on `topic`."""
    committed = await committed_offsets(bootstrap, group)
    ends = await end_offsets(bootstrap, topic)
    out: dict[int, tuple[int, int]] = {}
    for partition, end in sorted(ends.items()):
        meta = committed.get(TopicPartition(topic, partition))
        out[partition] = (meta.offset if meta is not None else -1, end)
    return out


async def start_workers(
    settings: Sequence[Settings], logs: Sequence[Path], profile_to: Path | None
) -> list[Child]:
    children = []
    for index, (worker_settings, log) in enumerate(zip(settings, logs, strict=True)):
        profile = profile_to if index == 0 else None
        cmd = [*python_cmd(profile), "-m", "switchyard", "worker"]
        children.append(Child(f"runtime worker {index}", cmd, child_env(worker_settings.to_env()), log))
    try:
        await asyncio.gather(*(child.wait_for(FAUST_READY, 120.0) for child in children))
    except BaseException:
        await stop_workers(children)
        raise
    return children


async def stop_workers(children: Sequence[Child]) -> None:
    await asyncio.gather(*(asyncio.to_thread(child.stop, 60.0) for child in children))


async def total_end(bootstrap: str, topic: str) -> int:
    return sum((await end_offsets(bootstrap, topic)).values())


async def outputs_by_topic(bootstrap: str, tag: str, inputs: int) -> dict[str, int]:
    """Records the workers wrote, per topic of the run: everything but the published workflows and, in
    `events`, the input events (what is left there are wake-ups and predicted events)."""
    names = await run_topics(bootstrap, tag)
    ends = {name[len(tag) :].lstrip(".-"): await total_end(bootstrap, name) for name in names}
    ends.pop("workflows", None)
    ends["events"] = ends.get("events", 0) - inputs
    return {name: count for name, count in sorted(ends.items()) if count}


async def count_step_records(bootstrap: str, topic: str) -> int:
    """Step records in `analytics`, counting each value of a pack (the topic's records are fewer)."""
    return sum(len(unpack(r.value)) for r in await read_to_end(bootstrap, topic) if r.value)


async def read_actions(settings: Settings) -> tuple[int, set[str], dict[str, int]]:
    records = 0
    ids: set[str] = set()
    by_channel: dict[str, int] = {}
    for channel in ACTION_CHANNELS:
        rows = await read_to_end(settings.bootstrap, settings.topic(action_topic(channel)))
        by_channel[channel] = len(rows)
        records += len(rows)
        ids.update(orjson.loads(r.value)["action_id"] for r in rows if r.value)
    return records, ids, {c: n for c, n in by_channel.items() if n}


async def check_timers(settings: Settings, fired_from: dict[int, int]) -> TimerCheck:
    """Wake-ups on `events` after `fired_from`, and the timers still pending in the timers changelog."""
    fired: list[tuple[int, str]] = []  # (due, kind)
    tokens: set[str] = set()
    for record in await read_to_end(settings.bootstrap, settings.topic("events"), start=fired_from):
        event = orjson.loads(record.value) if record.value else {}
        if event.get("type") == TIMER_EVENT:
            fired.append((int(event["properties"]["due"]), str(event["properties"].get("kind"))))
            tokens.add(str(event["properties"]["token"]))
    latest: dict[bytes, bytes | None] = {}
    for record in await read_to_end(settings.bootstrap, changelog_topic(settings.app_id, TIMERS_TABLE)):
        if record.key is not None:
            latest[record.key] = record.value
    pending = [int(due) for value in latest.values() if value for due, _, _ in orjson.loads(value)]
    last_fired = max(fired, default=None)
    return TimerCheck(
        fired=len(fired), fired_distinct=len(tokens), fired_due_max=last_fired[0] if last_fired else None,
        pending=len(pending), pending_due_min=min(pending, default=None),
        fired_due_max_kind=last_fired[1] if last_fired else None,
    )  # fmt: skip


async def applied_events(bootstrap: str, changelog: str) -> tuple[int, dict[int, int]]:
    """(contacts, events applied per partition) from the latest state of every contact in the contacts
    changelog (whose partitions are the contacts' `events` partitions).
    Every applied event, wake-ups included, adds one to its contact's profile counts, and a re-delivered
    event is skipped by offset, so the total equals the records on `events` exactly when none was lost
    or applied twice."""
    latest: dict[bytes, tuple[int, int]] = {}
    async for batch in read_batches(bootstrap, changelog):
        for record in batch:
            if record.key is None:
                continue
            if record.value is None:
                latest.pop(record.key, None)
            else:
                counts = decode_state(record.value)["profile"]["counts"]
                latest[record.key] = (record.partition, sum(counts.values()))
    per_partition: dict[int, int] = {}
    for partition, count in latest.values():
        per_partition[partition] = per_partition.get(partition, 0) + count
    return len(latest), per_partition


async def wakeups_by_partition(bootstrap: str, events_topic: str, start: dict[int, int]) -> dict[int, int]:
    """timer.fired records on `events` after offsets `start`, per partition."""
    counts: dict[int, int] = {}
    for record in await read_to_end(bootstrap, events_topic, start=start):
        if record.value and orjson.loads(record.value).get("type") == TIMER_EVENT:
            counts[record.partition] = counts.get(record.partition, 0) + 1
    return counts


async def check_applied(
    bootstrap: str, changelog: str, events_topic: str, phase: str, wakeups_from: dict[int, int] | None = None
) -> dict[str, Any]:
    """Events applied (profile counts) against the records on `events` that count in a profile: all of
    them but the wake-ups (engine.profile.UNCOUNTED_EVENT_TYPES), which can only follow `wakeups_from`."""
    contacts, applied = await applied_events(bootstrap, changelog)
    ends = await end_offsets(bootstrap, events_topic)
    wakeups = await wakeups_by_partition(bootstrap, events_topic, wakeups_from) if wakeups_from else {}
    counted = {p: end - wakeups.get(p, 0) for p, end in ends.items()}
    check: dict[str, Any] = {
        "contacts": contacts, "events_applied": sum(applied.values()), "events_in_topic": sum(ends.values()),
        "wakeups_in_topic": sum(wakeups.values()),
        "not_applied_by_partition": {p: n - applied.get(p, 0) for p, n in counted.items()
                                     if n != applied.get(p, 0)},
    }  # fmt: skip
    if check["not_applied_by_partition"]:
        print(f"   CHECK FAILED after {phase}: {check}", flush=True)
    return check


async def run_runtime(
    bcfg: BenchConfig, workers: int, workload: Workload, profile_dir: Path | None,
    overrides: dict[str, Any] | None = None,
) -> RuntimeResult:  # fmt: skip
    tag = f"{bcfg.run_tag}-rt{workers}"
    base = Settings(
        external_kafka=bcfg.bootstrap, data_dir=bcfg.work_dir / tag / "w0", app_id=tag,
        topic_prefix=f"{tag}.", partitions=bcfg.partitions, web_port=0, log_level="info",
    ).with_(**(overrides or {}))  # fmt: skip
    per_worker = [base.with_(data_dir=bcfg.work_dir / tag / f"w{i}") for i in range(workers)]
    events_topic = base.topic("events")
    changelog = changelog_topic(base.app_id, CONTACTS_TABLE)
    started_ms = int(time.time() * 1000)
    await ensure_worker_topics(base)
    published = [plan_publish({}, definition) for definition in definitions()]
    await wait_for_leaders(bcfg.bootstrap, [base.topic("workflows")], 1)
    await write_records(bcfg.bootstrap, base.topic("workflows"), published)
    await wait_for_leaders(bcfg.bootstrap, [events_topic], bcfg.partitions)
    profile_to = profile_dir / f"{tag}.prof" if profile_dir and workers == 1 else None

    def logs(phase: str) -> list[Path]:
        return [bcfg.work_dir / f"{tag}-{phase}-w{i}.log" for i in range(workers)]

    # first sight
    await preload(bcfg.bootstrap, events_topic, workload.first_sight, bcfg.partitions)
    stalls: dict[str, str] = {}
    children = await start_workers(per_worker, logs("first"), None)
    try:
        await wait_lag_zero(
            bcfg.bootstrap, tag, events_topic, children, len(workload.first_sight), bcfg.partitions
        )
    except Stalled as stall:
        stalls["first_sight"] = str(stall)
        print(f"   STALLED in the first-sight phase: {stall}", flush=True)
    finally:
        await stop_workers(children)
    first, last, _ = await edge_timestamps(bcfg.bootstrap, changelog)
    first_sight = Phase(len(workload.first_sight), max(last - first, 1) / 1000)
    applied_first = await check_applied(bcfg.bootstrap, changelog, events_topic, "first sight")
    loaded_before = await total_end(bcfg.bootstrap, events_topic)

    # the mixed stream
    changelog_start = await end_offsets(bcfg.bootstrap, changelog)
    await preload(bcfg.bootstrap, events_topic, workload.mixed, bcfg.partitions)
    fired_from = await end_offsets(bcfg.bootstrap, events_topic)
    loaded = await total_end(bcfg.bootstrap, events_topic)
    children = await start_workers(per_worker, logs("mixed"), profile_to)
    cpu_at_start, cpu_since = [child.cpu_seconds() for child in children], time.monotonic()
    machine_at_start = machine_busy_seconds()
    try:
        try:
            lag_zero_ms = await wait_lag_zero(
                bcfg.bootstrap, tag, events_topic, children, len(workload.mixed), bcfg.partitions
            )
            cpu_used = cpu_delta(cpu_at_start, [child.cpu_seconds() for child in children])
            cpu_wall_s = round(time.monotonic() - cpu_since, 2)
            machine_used = cpu_delta([machine_at_start], [machine_busy_seconds()])
        except Stalled as stall:
            stalls["mixed"] = str(stall)
            print(f"   STALLED in the mixed phase: {stall}", flush=True)
            lag_zero_ms = int(time.time() * 1000)
            cpu_used, cpu_wall_s, machine_used = None, 0.0, None
        first, last, _ = await edge_timestamps(bcfg.bootstrap, changelog, changelog_start)
        processed = await total_end(bcfg.bootstrap, events_topic) - loaded_before
        mixed = Phase(len(workload.mixed), max(last - first, 1) / 1000)
        if "mixed" in stalls:  # no latency phase on a partition that is not consumed
            latency, paced_rate = latency_summary([]), 0.0
        else:
            latency, paced_rate = await paced_latency(bcfg, events_topic, changelog, workload.paced)
            await wait_lag_zero(
                bcfg.bootstrap, tag, events_topic, children, len(workload.paced), bcfg.partitions
            )
        lag_end = await group_lag(bcfg.bootstrap, tag, events_topic)
    finally:
        await stop_workers(children)
    ended_ms = int(time.time() * 1000)
    applied_end = await check_applied(bcfg.bootstrap, changelog, events_topic, "the run", fired_from)
    records, ids, by_channel = await read_actions(base)
    timers = await check_timers(base, fired_from)
    inputs = len(workload.first_sight) + len(workload.mixed) + len(workload.paced)
    outputs = await outputs_by_topic(bcfg.bootstrap, tag, inputs)
    log_paths = [str(p) for p in logs("first") + logs("mixed")]
    return RuntimeResult(
        workers=workers, first_sight=first_sight, mixed=mixed, processed=processed,
        lag_zero_s=round((lag_zero_ms - first) / 1000, 3), latency=latency, paced_rate=round(paced_rate, 1),
        action_records=records, actions_distinct=len(ids), action_digest=action_digest(ids),
        actions_by_channel=by_channel,
        step_records=await count_step_records(bcfg.bootstrap, base.topic("analytics")),
        dead_letters=await total_end(bcfg.bootstrap, base.topic("events.dlq")), timers=timers,
        lag_end=lag_end, started_ms=started_ms, ended_ms=ended_ms,
        logs=log_paths,
        profile=str(profile_to) if profile_to else None,
        applied={"after_first_sight": applied_first, "at_end": applied_end},
        extra={"stalls": stalls, "events_in_topic_after_preload": loaded,
               "wakeups_in_throughput_phase": processed - len(workload.mixed),
               "workers_cpu_s_mixed": cpu_used, "workers_cpu_wall_s": cpu_wall_s,
               "machine_cpu_s_mixed": machine_used,
               "logged_errors": logged_errors(log_paths)},
        outputs_by_topic=outputs, inputs=inputs,
    )  # fmt: skip


# -- the run ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    events: int
    contacts: int
    workers: list[int]
    baselines: list[str]
    rate: float
    paced_seconds: float
    seed: int
    profile_dir: Path | None
    report: Path
    keep_broker: bool
    keep_topics: bool
    worker: dict[str, Any] = field(default_factory=dict)  # Settings overrides for the workers


async def run_all(
    bcfg: BenchConfig, opts: Options, workload: Workload
) -> tuple[list[PathResult], list[RuntimeResult]]:
    baselines: list[PathResult] = []
    runs: list[RuntimeResult] = []
    try:
        for path in opts.baselines:
            if path == "q" and not quix_peer.available():
                print("-- (q) quix-streams peer: skipped, quixstreams is not installed "
                      "(pip install -e '.[bench]')", flush=True)  # fmt: skip
                continue
            print(f"-- ({path}) on the mixed stream ...", flush=True)
            result = await run_passthrough(bcfg, path, "uvloop", workload.mixed, workload.paced)
            baselines.append(result)
            print(f"   {result.events_per_s:,.0f} ev/s, latency {format_latency(result.latency)}", flush=True)
        for workers in opts.workers:
            print(f"-- runtime with {workers} worker(s) ...", flush=True)
            run = await run_runtime(bcfg, workers, workload, opts.profile_dir, opts.worker)
            runs.append(run)
            print(f"   first sight {format_rate(run.first_sight_rate)} ev/s; "
                  f"mixed {format_rate(run.mixed_rate)} ev/s; latency {format_latency(run.latency)}",
                  flush=True)  # fmt: skip
    finally:
        if opts.keep_topics:
            print(f"kept the topics of run {bcfg.run_tag}", flush=True)
        else:
            deleted = await delete_run_topics(bcfg.bootstrap, bcfg.run_tag)
            print(f"deleted {len(deleted)} topic(s) of run {bcfg.run_tag}", flush=True)
    return baselines, runs


def summarise(
    workload: Workload, baselines: Sequence[PathResult], runs: Sequence[RuntimeResult]
) -> dict[str, Any]:
    rate = {b.path: b.events_per_s for b in baselines}
    out: dict[str, Any] = {}
    if runs:
        one = runs[0]
        one_rate = one.mixed_rate  # None when the phase stalled: no ratio, and the target is not met
        out["ratios"] = {} if one_rate is None else {f"runtime/{p}": ratio(one_rate, rate[p]) for p in rate}
        out["target_events_per_s"] = TARGET_EVENTS_PER_S
        if one.workers == 1:
            out["target_met"] = one_rate is not None and one_rate >= TARGET_EVENTS_PER_S
        out["workers_logged_errors"] = {r.workers: len(r.extra.get("logged_errors", [])) for r in runs}
        out["all_events_applied"] = all(
            not r.applied.get("at_end", {}).get("not_applied_by_partition") and r.lag_end == 0
            and r.dead_letters == 0 and not r.extra.get("stalls")
            for r in runs
        )  # fmt: skip
    if len(runs) > 1:
        base = runs[0]
        out["scaling"] = {
            f"{r.workers}w/{base.workers}w": ratio(r.mixed_rate, base.mixed_rate)
            for r in runs[1:]
            if r.mixed_rate is not None and base.mixed_rate is not None
        }
        out["scaling_first_sight"] = {
            f"{r.workers}w/{base.workers}w": ratio(r.first_sight_rate, base.first_sight_rate)
            for r in runs[1:]
            if r.first_sight_rate is not None and base.first_sight_rate is not None
        }
        first_start = min(r.started_ms for r in runs)
        last_end = max(r.ended_ms for r in runs)
        out["same_actions"] = len({r.action_digest for r in runs}) == 1
        out["timer_window_problems"] = {
            r.workers: timer_window_problems(r.timers, workload.now_ms, first_start, last_end) for r in runs
        }
    return out


def print_report(opts: Options, workload: Workload, baselines: Sequence[PathResult],
                 runs: Sequence[RuntimeResult], summary: dict[str, Any]) -> None:  # fmt: skip
    print()
    print(f"runtime bench: {len(workload.mixed):,} mixed events (+{len(workload.first_sight):,} first "
          f"sights), {opts.contacts:,} contacts, {len(definitions())} workflows, 8 partitions; "
          f"paced {opts.rate:,.0f} ev/s for {opts.paced_seconds:g} s")  # fmt: skip
    print("latency: input record create timestamp -> the contact's changelog record (a/b: output record)")
    for line in table_lines(baselines, runs):
        print(line)
    for name, value in summary.get("ratios", {}).items():
        goal = "  (long-run target >= 1.0, the whole workflow engine on)" if name == "runtime/q" else ""
        print(f"{name} = {value}{goal}")
    if runs and baselines and runs[0].mixed_rate is None:
        print("runtime/baseline ratios: none, the runtime's mixed phase STALLED")
    for name, value in summary.get("scaling", {}).items():
        first = summary["scaling_first_sight"].get(name, "none (a first-sight phase STALLED)")
        print(f"scaling {name} = {value} on the mixed stream, {first} on first sights  (2 cores shared by "
              "the broker, the workers and this driver)")  # fmt: skip
    if "target_met" in summary:
        met = "met" if summary["target_met"] else "NOT met"
        if runs and runs[0].mixed_rate is None:
            met += " (the mixed phase STALLED: no rate)"
        print(f"target >= {TARGET_EVENTS_PER_S:,.0f} ev/s in one worker: {met}")
    if runs:
        print(f"every event applied exactly once, lag 0, no dead letters: {summary['all_events_applied']}")
    for r in runs:
        tag = f"[{r.workers}w]"
        for phase, how in r.stalls.items():
            print(f"{tag} STALLED in the {phase} phase, so it has no rate: {how}")
        print(f"{tag} first sight {format_rate(r.first_sight_rate)} ev/s ({r.first_sight.events:,} in "
              f"{r.first_sight.seconds:.1f} s); mixed {r.mixed.events:,} in {r.mixed.seconds:.1f} s, "
              f"processed {r.processed:,} incl. wake-ups; lag 0 after {r.lag_zero_s} s; lag at end "
              f"{r.lag_end}; dead letters {r.dead_letters}")  # fmt: skip
        print(f"{tag} actions {r.action_records:,} records / {r.actions_distinct:,} distinct "
              f"(digest {r.action_digest}) {r.actions_by_channel}")  # fmt: skip
        print(f"{tag} step records {r.step_records:,}; events applied (profile counts) vs in topic: "
              f"{r.applied}")  # fmt: skip
        top = ", ".join(f"{name} {count:,}" for name, count in
                        sorted(r.outputs_by_topic.items(), key=lambda kv: -kv[1]))  # fmt: skip
        print(f"{tag} output records per input event {r.outputs_per_input:.2f} ({top})")
        print(cpu_line(r))
        errors = r.extra.get("logged_errors", [])
        shown = "".join(f"\n   {line[:300]}" for line in errors[:3])
        print(f"{tag} errors in the workers' logs: {len(errors)}{shown}")
        print(f"{tag} timers fired {r.timers.fired:,} ({r.timers.fired_distinct:,} distinct), "
              f"pending at end {r.timers.pending:,}")  # fmt: skip
    if "same_actions" in summary:
        print(f"same actions for every worker count: {summary['same_actions']}; timer window problems: "
              f"{summary['timer_window_problems']}")  # fmt: skip


def print_profile(path: str, limit: int = 25) -> None:
    print(f"\nprofile {path} (top {limit} by own time):")
    pstats.Stats(path).sort_stats("tottime").print_stats(limit)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="loadtest.runtime_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--events", type=int, default=200_000, help="events of the mixed stream")
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts, one run each")
    parser.add_argument("--baselines", default="a,b,q", help="comma-separated subset of a,b,q ('' for none); "
                        "q needs the optional bench extra")  # fmt: skip
    parser.add_argument("--rate", type=float, default=1000.0, help="paced phase, events/s")
    parser.add_argument("--paced-seconds", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--report", type=Path, default=REPO / "reports" / "runtime.json")
    parser.add_argument("--profile-dir", type=Path, default=None,
                        help="run the 1-worker mixed phase under cProfile (slows it down)")  # fmt: skip
    parser.add_argument("--ml", choices=("on", "off"), default="on", help="predictive scoring in the workers")
    parser.add_argument("--batch-size", type=int, default=Settings.batch_size, help="largest worker batch")
    parser.add_argument(
        "--batch-within",
        type=float,
        default=Settings.batch_within_s,
        help="worker's extra wait in seconds for a batch to fill (0: none)",
    )
    parser.add_argument("--keep-broker", action="store_true", help="leave the benchmark broker running")
    parser.add_argument("--keep-topics", action="store_true", help="leave the run's topics (to inspect them)")
    return parser


def parse_options(argv: Sequence[str] | None) -> Options:
    args = build_parser().parse_args(argv)
    workers = [int(w) for w in args.workers.split(",") if w]
    baselines = [b for b in args.baselines.split(",") if b]
    n_paced = int(args.rate * args.paced_seconds)
    if (
        any(w < 1 for w in workers) or any(b not in ("a", "b", "q") for b in baselines)
        or args.events <= 0 or not 0 < n_paced <= args.contacts
    ):  # fmt: skip
        raise SystemExit("loadtest.runtime_bench: --workers takes counts >= 1, --baselines a,b,q; --events "
                         "must be positive and rate x paced-seconds between 1 and --contacts")  # fmt: skip
    return Options(args.events, args.contacts, workers, baselines, args.rate, args.paced_seconds, args.seed,
                   args.profile_dir, args.report, args.keep_broker, args.keep_topics,
                   {"ml": args.ml == "on", "batch_size": args.batch_size,
                    "batch_within_s": args.batch_within})  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    opts = parse_options(argv)
    run_tag = f"rtbench-{datetime.now(UTC):%Y%m%d%H%M%S}-{os.getpid()}"
    load_before = os.getloadavg()
    started = datetime.now(UTC)
    workload = generate_workload(
        opts.events, opts.contacts, int(opts.rate * opts.paced_seconds), now_ms=int(time.time() * 1000),
        seed=opts.seed,
    )  # fmt: skip
    print(f"workload: {workload.summary()}", flush=True)
    if opts.profile_dir:
        opts.profile_dir.mkdir(parents=True, exist_ok=True)
    with bench_broker(BROKER_DIR, BENCH_PORT, BENCH_CONTROLLER_PORT, opts.keep_broker) as bootstrap:
        bcfg = BenchConfig(
            bootstrap=bootstrap, run_tag=run_tag, events=len(workload.mixed), contacts=opts.contacts,
            partitions=8, rate=opts.rate, paced_seconds=opts.paced_seconds, seed=opts.seed,
            faust_send_mode="gather", work_dir=WORK_DIR / run_tag, profile_dir=opts.profile_dir,
        )  # fmt: skip
        try:
            baselines, runs = asyncio.run(run_all(bcfg, opts, workload))
        finally:
            bcfg.remove_child_dirs()
    summary = summarise(workload, baselines, runs)
    print_report(opts, workload, baselines, runs, summary)
    report = {
        "benchmark": "runtime", "run": run_tag, "started_at": started.isoformat(), "bootstrap": bootstrap,
        "workload": workload.summary(), "workflows": [d["id"] for d in definitions()],
        "paced": {"rate": opts.rate, "seconds": opts.paced_seconds},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(), "loadavg_before": load_before,
                    "loadavg_after": os.getloadavg()},
        "throughput_timing": "mixed events / (first to last contacts-changelog record timestamp of the "
                             "phase; workers start on a preloaded topic); a/b: first to last output record",
        "latency_timing": "input record create timestamp -> the contact's changelog record "
                          "(a/b: output record)",
        "baselines": [b.as_dict() for b in baselines], "runs": [r.as_dict() for r in runs], **summary,
        "logs": str(bcfg.work_dir),
    }  # fmt: skip
    print(f"report: {write_report(opts.report, report)}")
    for run in runs:
        if run.profile:
            print_profile(run.profile)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
