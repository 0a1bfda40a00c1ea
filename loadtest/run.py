"""One load-test run against a real broker and a real worker process, from empty topics to the report.

1. Fresh topics for the run (the action topics with LogAppendTime, see loadtest.meter), the 12 example
   workflows published to its `workflows` topic.
2. The producer (loadtest.producer_proc, its own process) generates the traffic while the worker
   (``switchyard worker``, a child process) starts.
3. open-loop: the producer sends at the target rate while the meter samples lag and progress every
   second; chaos kills the worker (``kill -9``) N times, spread over the sending window, and restarts it
   each time. max-throughput: the producer preloads everything first; the raw aiokafka pass-through (a)
   of loadtest.baseline drains the same records on its own topics, then the worker drains the run's.
   The producer has a deadline (``producer_deadline_s``): past it the run ends with a RunError.
4. Drain: until the group's committed lag, read from samples at most ``FRESH_TICKS`` ticks old, has stayed
   0 for a few seconds; without a fresh sample that moves for ``stall_s`` it ends as stalled. The worker
   is stopped.
5. The oracle (loadtest.accuracy) over the `events` topic as delivered and every action record, with
   the wake-ups due ``WAKEUP_GRACE_MS`` before the worker stopped checked as fired; latency of the
   actions by cause (loadtest.meter); JSON + PNG report (loadtest.report). The run is ok when the oracle
   is (nothing missing, unexpected or conflicting, and no step failure, malformed event, dead letter,
   missed or early wake-up), the lag drained, and the analytics counts (if on) are equal.
With ``analytics``, the analytics writer (loadtest.analytics_writer) runs next to the worker from its
start on its own store under ``log_dir``; after the drain the run waits until it has committed every
record, reads the funnel, step, action and table counts from its report endpoint, and checks them against
the oracle's replay (loadtest.analytics_check): every count must be equal.
The run's topics are deleted at the end (unless kept); its worker logs stay in ``log_dir``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from agents.catalog import plan_publish, write_records
from agents.changelog import changelog_topic
from agents.kafka_admin import create_topics, ensure_worker_topics
from agents.logs import CORE_BUILD, PROCESSING_READY
from agents.settings import Settings
from agents.topic_reader import read_to_end
from agents.topics import ACTION_CHANNELS, action_topic
from agents.worker_process import REPO, WorkerProcess, WorkerStartError
from engine.parser import parse_text
from loadtest import accuracy, analytics_check, meter, verdict
from loadtest.analytics_writer import AnalyticsChild, Reading, read_after_drain
from loadtest.baseline import BenchConfig, PathResult, delete_run_topics, run_passthrough
from loadtest.exceptions import LoadtestError
from loadtest.kafka_bench import (
    Record,
    edge_timestamps,
    one_event_per_contact,
    wait_for_leaders,
)
from loadtest.oracle import EXAMPLES, example_workflows
from loadtest.report import ProgressBar, Sample, build_report, format_table, summarise, write
from tables.contacts import CONTACTS_TABLE

TICK_S = 1.0
FRESH_TICKS = 2.0  # the drain trusts a sample at most this many ticks old
CEILING_PACED_EVENTS = 500  # (a)'s own latency phase, kept short: only its throughput is wanted here
PRODUCER_GRACE_S = 60.0  # the producer's time for its last acknowledgements, beyond its sending time
SLOWEST_PRELOAD_EPS = 1000.0  # max mode: a preload slower than this is a failure, not a run
WAKEUP_GRACE_MS = 2_000  # a timer due this close to the worker's stop may still be on its way to `events`


class RunError(LoadtestError):
    """A run that could not finish: a child exited, the producer failed, the worker never got ready."""


@dataclass(frozen=True)
class RunConfig:
    settings: Settings  # the worker's: broker, app id (= group), topic prefix, data dir, partitions
    mode: str  # "open" (fixed rate) or "max" (preload, then drain as fast as possible)
    rate: float  # open: events per second
    seconds: float  # open: how long to send (when events is 0)
    events: int  # how many events (0: rate x seconds)
    contacts: int  # 0: one per 20 events
    seed: int
    kills: int  # chaos: kill -9 the worker this many times while the producer sends
    report_dir: Path
    stem: str  # report file names: <stem>.json, <stem>.png
    log_dir: Path
    keep_topics: bool = False
    show_progress: bool = True
    settle_s: float = 3.0  # lag 0 for this long ends the drain
    stall_s: float = 120.0  # lag unchanged this long ends the drain as stalled
    analytics: bool = False  # also run the analytics writer and check its counts against the oracle
    duplicates: float = 0.0  # share of events the producer sends twice (same id and bytes)
    after_drain: Callable[[], Awaitable[None]] | None = None  # tests: runs once the worker has stopped
    worker_tree: Path = REPO  # the checkout the worker runs from (e.g. `make native`'s compiled copy)
    worker_tree_differs: tuple[str, ...] = ()  # this checkout's tracked files that worker_tree differs in
    broker_jit: str | None = None  # the JIT choice of the broker this run started (None: not started here)

    @property
    def planned_events(self) -> int:
        return self.events if self.events > 0 else round(self.rate * self.seconds)

    @property
    def contact_count(self) -> int:
        return self.contacts if self.contacts > 0 else max(50, self.planned_events // 20)


@dataclass
class RunResult:
    report: dict[str, Any]
    json_path: Path
    png_path: Path
    table: str
    ok: bool


# -- children -------------------------------------------------------------------------------------


class ProducerChild:
    """loadtest.producer_proc in a child process, driven through its stdin/stdout lines."""

    def __init__(self, cfg: RunConfig, preload: bool) -> None:
        self.cfg = cfg
        self.preload = preload
        self.proc: asyncio.subprocess.Process | None = None
        self.ready = asyncio.Event()
        self.finished = asyncio.Event()
        self.planned = 0
        self.sent = 0  # handed to the producer's client
        self.acked = 0  # acknowledged by the broker
        self.done: dict[str, Any] = {}
        self.failure = ""
        self.reader: asyncio.Task[None] | None = None

    async def spawn(self) -> None:
        s = self.cfg.settings
        cmd = [
            sys.executable, "-m", "loadtest.producer_proc", "--bootstrap", s.bootstrap,
            "--topic", s.topic("events"), "--partitions", str(s.partitions),
            "--rate", str(self.cfg.rate if self.cfg.rate > 0 else 1000.0),
            "--contacts", str(self.cfg.contact_count), "--seed", str(self.cfg.seed),
            "--events", str(self.cfg.planned_events),
        ]  # fmt: skip
        if self.preload:
            cmd.append("--preload")
        if self.cfg.duplicates > 0:
            cmd += ["--duplicates", str(self.cfg.duplicates)]
        self.cfg.log_dir.mkdir(parents=True, exist_ok=True)
        with open(self.cfg.log_dir / "producer.log", "ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                *cmd, cwd=REPO, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=log
            )
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        async for raw in self.proc.stdout:
            word, _, rest = raw.decode().strip().partition(" ")
            if word == "READY":
                self.planned = int(rest)
                self.ready.set()
            elif word == "PROGRESS":
                sent, acked = rest.split()
                self.sent, self.acked = int(sent), int(acked)
            elif word == "DONE":
                self.done = orjson.loads(rest)
                self.sent, self.acked = int(self.done["sent"]), int(self.done["acked"])
            elif word == "FAILED":
                self.failure = rest
        await self.proc.wait()
        if not self.done and not self.failure:
            self.failure = f"the producer exited with {self.proc.returncode} (log: {self.cfg.log_dir})"
        self.ready.set()
        self.finished.set()

    async def wait_ready(self) -> int:
        await self.ready.wait()
        if self.failure:
            raise RunError(f"producer: {self.failure}")
        return self.planned

    def go(self) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(b"go\n")

    async def wait_done(self, timeout_s: float) -> dict[str, Any]:
        """The producer's DONE figures; a RunError when it failed or is not done within ``timeout_s``."""
        try:
            await asyncio.wait_for(self.finished.wait(), timeout_s)
        except TimeoutError:
            raise RunError(
                f"producer: not done {timeout_s:,.0f} s after it was told to go (sent {self.sent:,}, "
                f"acknowledged {self.acked:,} of {self.planned:,}; log: {self.cfg.log_dir / 'producer.log'})"
            ) from None
        if self.failure:
            raise RunError(f"producer: {self.failure}")
        return self.done

    async def close(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        if self.reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self.reader


def producer_deadline_s(cfg: RunConfig, events: int) -> float:
    """How long the producer may take from `go` to DONE: twice its sending window at the rate (open) or its
    events at SLOWEST_PRELOAD_EPS (max), plus PRODUCER_GRACE_S."""
    sending = 2 * events / cfg.rate if cfg.mode == "open" else events / SLOWEST_PRELOAD_EPS
    return sending + PRODUCER_GRACE_S


@dataclass
class Kill:
    at_s: float  # seconds since the run's clock started
    pid: int
    restart_s: float = 0.0  # until the restarted worker logged Ready


@dataclass
class WorkerHolder:
    """The run's worker; chaos replaces its process, the meter and the drain only look at it."""

    process: WorkerProcess
    kills: list[Kill] = field(default_factory=list)
    restarting: bool = False

    async def start(self) -> float:
        started = time.monotonic()
        await asyncio.to_thread(self.process.start, 180.0)
        return time.monotonic() - started

    def check(self) -> None:
        if not self.restarting and not self.process.alive():
            raise RunError(f"the worker exited on its own:\n{self.process.log_tail()}")


async def chaos(worker: WorkerHolder, kills: int, window_s: float, clock: RunClock) -> None:
    """kill -9 at window x i/(kills+1), i = 1..kills, each followed by a restart (waiting for Ready)."""
    for index in range(1, kills + 1):
        await clock.sleep_until(window_s * index / (kills + 1))
        worker.restarting = True
        pid = worker.process.pid or 0
        worker.process.kill9()
        kill = Kill(round(clock.now(), 2), pid)
        worker.kills.append(kill)
        kill.restart_s = round(await worker.start(), 2)
        worker.restarting = False


class RunClock:
    def __init__(self) -> None:
        self.started = time.monotonic()
        self.started_ms = int(time.time() * 1000)

    def now(self) -> float:
        return time.monotonic() - self.started

    async def sleep_until(self, t: float) -> None:
        await asyncio.sleep(max(0.0, t - self.now()))


# -- the run ----------------------------------------------------------------------------------------


async def prepare_topics(settings: Settings) -> None:
    """Action topics with LogAppendTime first (ensure_worker_topics leaves existing ones alone)."""
    actions = [settings.topic(action_topic(c)) for c in ACTION_CHANNELS]
    append_time = {"message.timestamp.type": "LogAppendTime"}
    await create_topics(settings.bootstrap, actions, settings.partitions, configs=append_time)
    await ensure_worker_topics(settings)
    await wait_for_leaders(settings.bootstrap, [settings.topic("events")], settings.partitions)
    await wait_for_leaders(settings.bootstrap, [settings.topic("workflows")], 1)


async def publish_examples(settings: Settings) -> list[str]:
    paths = sorted(EXAMPLES.glob("*.yaml"))
    records = [plan_publish({}, parse_text(p.read_text(encoding="utf-8"), str(p)).data) for p in paths]
    await write_records(settings.bootstrap, settings.topic("workflows"), records)
    return [key.decode() for key, _ in records]


class Meter:
    """Samples the group's offsets every second, drives the progress bar, and ends the drain."""

    def __init__(self, cfg: RunConfig, clock: RunClock, producer: ProducerChild) -> None:
        s = cfg.settings
        self.cfg = cfg
        self.clock = clock
        self.producer = producer
        self.probe = meter.OffsetProbe(s.bootstrap, s.app_id, s.topic("events"), s.partitions)
        self.ticks: list[meter.Tick] = []
        self.bar: ProgressBar | None = None
        self.phase = "sending"

    async def run(self, worker: WorkerHolder) -> None:
        await self.probe.start()
        try:
            step = 1
            while True:
                await self.clock.sleep_until(step * TICK_S)
                step += 1
                try:
                    offsets = await self.probe.read()
                except Exception as exc:  # a broker hiccup costs one sample, not the run
                    print(f"\nmeter: no sample at {self.clock.now():.0f}s: {exc!r}", file=sys.stderr)
                    continue
                self.ticks.append(
                    meter.Tick(self.clock.now(), self.producer.acked, offsets, os.getloadavg()[0])
                )
                self.draw(offsets, worker)
        finally:
            await self.probe.close()

    def draw(self, offsets: meter.Offsets, worker: WorkerHolder) -> None:
        if self.bar is None:
            return
        rate = self.ticks[-1].offsets.committed - (
            self.ticks[-2].offsets.committed if len(self.ticks) > 1 else 0
        )
        state = "restarting" if worker.restarting else self.phase
        note = f"{state}: lag {offsets.lag:,}  processed {rate:,}/s  kills {len(worker.kills)}"
        done = self.producer.sent if self.cfg.mode == "open" else offsets.committed
        self.bar.update(done, note)

    def fresh_lag(self) -> int | None:
        """The lag of the latest sample if it is at most FRESH_TICKS ticks old, else None (no sample yet,
        or the sampling stopped or keeps failing: an old reading says nothing about now)."""
        if not self.ticks or self.clock.now() - self.ticks[-1].t > FRESH_TICKS * TICK_S:
            return None
        return self.ticks[-1].offsets.lag

    async def drain(self, worker: WorkerHolder) -> bool:
        """Until the committed lag of fresh samples has been 0 for settle_s (True), or no fresh sample has
        shown it move for stall_s (False), whether samples come or not."""
        self.phase = "draining"
        zero_since: float | None = None
        last_lag, last_change = -1, time.monotonic()
        while True:
            worker.check()
            await asyncio.sleep(0.5)
            lag = self.fresh_lag()
            now = time.monotonic()
            if lag == 0 and not worker.restarting:
                zero_since = zero_since or now
                if now - zero_since >= self.cfg.settle_s:
                    return True
            else:
                zero_since = None
            if lag is not None and lag != last_lag:
                last_lag, last_change = lag, now
            elif now - last_change > self.cfg.stall_s:
                return False


async def ceiling(cfg: RunConfig) -> PathResult:
    """Baseline (a), raw aiokafka consume-decode-encode-produce, over the very records of this run."""
    s = cfg.settings
    stored = sorted(await read_to_end(s.bootstrap, s.topic("events")), key=lambda r: (r.partition, r.offset))
    records: list[Record] = [(r.key or b"", r.value or b"") for r in stored]
    paced = one_event_per_contact(CEILING_PACED_EVENTS, base_ts=int(time.time() * 1000), seed=cfg.seed + 1)
    bench = BenchConfig(
        bootstrap=s.bootstrap, run_tag=s.app_id, events=len(records), contacts=cfg.contact_count,
        partitions=s.partitions, rate=float(CEILING_PACED_EVENTS), paced_seconds=1.0, seed=cfg.seed,
        faust_send_mode="gather", work_dir=cfg.log_dir, profile_dir=None,
    )  # fmt: skip
    return await run_passthrough(bench, "a", "uvloop", records, paced)


async def execute(cfg: RunConfig) -> RunResult:
    s = cfg.settings
    if cfg.mode not in ("open", "max"):
        raise RunError(f"unknown mode {cfg.mode!r} (open or max)")
    load_before = os.getloadavg()
    await prepare_topics(s)
    published = await publish_examples(s)
    producer = ProducerChild(cfg, preload=cfg.mode == "max")
    await producer.spawn()
    log_path, ready = cfg.log_dir / "worker.log", PROCESSING_READY.encode()
    process = WorkerProcess(s, log_path, ready_mark=ready, tree=cfg.worker_tree)
    worker = WorkerHolder(process)
    writer = AnalyticsChild(s, cfg.log_dir) if cfg.analytics else None
    extra: dict[str, Any] = {}
    clock = RunClock()
    reading: Reading | None = None
    try:
        if cfg.mode == "open":
            worker_start_s, planned, writer_start_s = await asyncio.gather(
                worker.start(), producer.wait_ready(), start_writer(writer)
            )
        else:
            planned = await producer.wait_ready()
            producer.go()
            extra["preload"] = await producer.wait_done(producer_deadline_s(cfg, planned))
            ceiling_result = await ceiling(cfg)
            extra["ceiling_a"] = ceiling_result.as_dict()
            clock = RunClock()
            worker_start_s, writer_start_s = await asyncio.gather(worker.start(), start_writer(writer))
        extra["worker_start_s"] = round(worker_start_s, 2)
        sent, drained, ticks, window = await measure(cfg, clock, producer, worker, planned)
        stopped_ms = int(time.time() * 1000)
        worker.process.stop()
        extra["producer"] = sent
        if cfg.after_drain is not None:
            await cfg.after_drain()
        if writer is not None:
            reading = await read_after_drain(writer, writer_start_s)
    finally:
        worker.process.stop()
        if writer is not None:
            writer.stop()
        await producer.close()
    try:
        return await conclude(
            cfg, clock, ticks, window, worker, drained, published, extra, load_before, reading,
            due_by=stopped_ms - WAKEUP_GRACE_MS,
        )  # fmt: skip
    finally:
        if not cfg.keep_topics:
            await delete_run_topics(s.bootstrap, s.app_id)
        shutil.rmtree(s.data_dir, ignore_errors=True)


async def start_writer(writer: AnalyticsChild | None) -> float:
    """Start the analytics writer when the run has one; the seconds until it joined its group."""
    if writer is None:
        return 0.0
    try:
        return await writer.start()
    except WorkerStartError as exc:
        raise RunError(f"the analytics writer did not start: {exc}") from None


def check_analytics(reading: Reading, checked: accuracy.Verdict) -> analytics_check.AnalyticsCheck:
    """The writer's counts against the oracle's replay of the same run."""
    replayed = checked.expected
    event_ids = (event["event_id"] for events in checked.delivered.by_contact.values() for event in events)
    expected = analytics_check.oracle_side(replayed.step_records, replayed.actions, event_ids)
    return analytics_check.check_run(expected, reading.reports, reading.error, reading.details)


async def measure(
    cfg: RunConfig, clock: RunClock, producer: ProducerChild, worker: WorkerHolder, planned: int
) -> tuple[dict[str, Any], bool, list[meter.Tick], tuple[float, float]]:
    """Sending (open) or draining (max) under the meter; returns the producer's figures, whether the
    lag reached 0, the ticks and the (start, end) seconds of the judged window."""
    gauge = Meter(cfg, clock, producer)
    if cfg.show_progress:
        gauge.bar = ProgressBar(planned, label=cfg.mode)
    sampling = asyncio.create_task(gauge.run(worker))
    killing: asyncio.Task[None] | None = None
    try:
        if cfg.mode == "open":
            clock.started, clock.started_ms = time.monotonic(), int(time.time() * 1000)
            producer.go()
            if cfg.kills:
                killing = asyncio.create_task(chaos(worker, cfg.kills, planned / cfg.rate, clock))
            sent = await producer.wait_done(producer_deadline_s(cfg, planned))
            window = (0.0, clock.now())
            if killing is not None:
                await killing
        else:
            sent = {}
            window = (0.0, 0.0)
        drained = await gauge.drain(worker)
        if cfg.mode == "max":
            window = (0.0, clock.now())
    finally:
        for task in (sampling, killing):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if gauge.bar is not None:
            gauge.bar.close()
    return sent, drained, gauge.ticks, window


async def conclude(
    cfg: RunConfig,
    clock: RunClock,
    ticks: Sequence[meter.Tick],
    window: tuple[float, float],
    worker: WorkerHolder,
    drained: bool,
    published: list[str],
    extra: dict[str, Any],
    load_before: tuple[float, float, float],
    reading: Reading | None = None,
    due_by: int | None = None,
) -> RunResult:
    """The oracle (the wake-ups due by ``due_by``, epoch ms, must have fired), the report and the table."""
    s = cfg.settings
    checked = await accuracy.check(s.bootstrap, s.topic_prefix, example_workflows(), due_by)
    analytics = check_analytics(reading, checked) if reading is not None else None
    arrivals = meter.first_arrivals(zip(checked.emitted.actions, checked.emitted.timestamps, strict=True))
    latency = meter.latency_figures(arrivals, checked.expected.timer_caused, clock.started_ms)
    rows = meter.samples(ticks, latency.arrivals)
    judged = [sample for sample in rows if window[0] < sample.t <= window[1] + 1e-6]
    title = f"switchyard loadtest: {describe(cfg)}"
    sections: dict[str, Any] = {
        "config": {"mode": cfg.mode, "rate": cfg.rate, "events": cfg.planned_events, "seed": cfg.seed,
                   "contacts": cfg.contact_count, "kills": cfg.kills, "partitions": s.partitions,
                   "app_id": s.app_id, "batch_size": s.batch_size, "batch_within_s": s.batch_within_s,
                   "bootstrap": s.bootstrap, "workflows": published, "worker_tree": str(cfg.worker_tree),
                   "core": worker_core(cfg.log_dir / "worker.log"), "static_membership": s.static_membership,
                   "worker_tree_differs": list(cfg.worker_tree_differs), "broker_jit": cfg.broker_jit},
        "machine": {"cpus": os.cpu_count(), "loadavg_before": load_before, "loadavg_after": os.getloadavg(),
                    "loadavg_1m_during": load_during(ticks)},
        "drained": drained, "latency": latency.as_dict(), "oracle": checked.as_dict(),
        "chaos": [kill.__dict__ for kill in worker.kills], **extra,
    }  # fmt: skip
    if analytics is not None:
        sections["analytics"] = analytics.as_dict()
    if cfg.mode == "open":
        sections["keep_up"] = verdict.keep_up(judged, cfg.rate).as_dict()
    else:
        sections["max_throughput"] = await drain_rate(cfg, judged)
    report = build_report(title, rows, **sections)
    json_path, png_path = write(cfg.report_dir, cfg.stem, report, rows)
    table = render_table(cfg, report, judged, latency)
    if analytics is not None:
        table += "\n" + analytics.summary()
    ok = checked.ok and drained and (analytics is None or analytics.ok)
    return RunResult(report, json_path, png_path, table, ok)


async def drain_rate(cfg: RunConfig, judged: Sequence[Sample]) -> dict[str, Any]:
    """Events applied per second from a full topic: applied events (wake-ups included) over the span
    between the first and the last contacts-changelog record, as loadtest.baseline measures (c)."""
    s = cfg.settings
    first, last, _ = await edge_timestamps(s.bootstrap, changelog_topic(s.app_id, CONTACTS_TABLE))
    processed = sum(sample.processed for sample in judged)
    seconds = max(last - first, 1) / 1000
    return {"events": processed, "seconds": round(seconds, 3), "events_per_s": round(processed / seconds, 1),
            "timing": "committed events / (last - first contacts-changelog record timestamp)"}  # fmt: skip


def worker_core(log_path: Path) -> str:
    """The build of the core the run's worker said it runs (agents/core_build.py), from its log."""
    with contextlib.suppress(OSError), open(log_path, errors="replace") as log:
        for line in log:
            if line.startswith("{"):  # SWITCHYARD_LOG_FORMAT=json
                with contextlib.suppress(orjson.JSONDecodeError, AttributeError):
                    line = orjson.loads(line).get("message", "")
            _, found, core = line.partition(CORE_BUILD)
            if found:
                return core.strip()
    return "unknown (no core line in the worker's log)"


def load_during(ticks: Sequence[meter.Tick]) -> dict[str, float]:
    loads = [tick.load1 for tick in ticks]
    return {"mean": round(sum(loads) / len(loads), 2), "max": max(loads)} if loads else {}


def describe(cfg: RunConfig) -> str:
    if cfg.mode == "max":
        what = f"max-throughput, {cfg.planned_events:,} events preloaded"
    else:
        what = f"{cfg.rate:,.0f} ev/s, {cfg.planned_events:,} events"
    return what + (f", chaos {cfg.kills} kills" if cfg.kills else "")


def render_table(
    cfg: RunConfig, report: dict[str, Any], judged: Sequence[Sample], latency: meter.LatencyFigures
) -> str:
    oracle = report["oracle"]
    whole = summarise(judged) if judged else {}
    lat = latency.immediate
    figures: dict[str, object] = {
        "mode": describe(cfg),
        "worker core": report["config"]["core"],
        "static group membership": "on" if cfg.settings.static_membership else None,
        "broker JIT": cfg.broker_jit or "not started by this run",
        "worker tree: files unlike here": len(cfg.worker_tree_differs) if cfg.worker_tree != REPO else None,
        "events produced": report.get("producer", {}).get("sent") or report.get("preload", {}).get("sent"),
        "events sent twice (same id)": oracle.get("repeated_in_topic") if cfg.duplicates else None,
        "producer rate ev/s": report.get("producer", {}).get("rate"),
        "producer max ms behind schedule": report.get("producer", {}).get("max_behind_ms"),
        "sustained throughput ev/s": whole.get("mean_throughput_eps") if cfg.mode == "open" else None,
        "latency p50 ms": lat.p50_ms, "latency p95 ms": lat.p95_ms,
        "latency p99 ms": lat.p99_ms, "latency max ms": lat.max_ms,
        "latency samples (immediate actions)": lat.count,
        "timer-caused actions (kept apart)": latency.timer.count,
        "max lag": whole.get("max_lag"), "lag slope msg/s (2nd half)": report.get("keep_up", {}).get(
            "lag_slope_per_s"),
        "oracle accuracy %": oracle["accuracy_pct"], "expected actions": oracle["expected"],
        "emitted action records": oracle["emitted"], "missing": oracle["missing"],
        "unexpected": oracle["unexpected"], "payload mismatch": oracle["mismatched"],
        "duplicates (same id)": oracle["duplicates"], "conflicting (same id)": oracle["conflicting"],
        "step failures in the oracle's replay": oracle["oracle_step_failures"],
        "malformed events in topic": oracle["malformed_in_topic"],
        "dead letters (events.dlq)": oracle["dead_letters"],
        "wake-ups due, never fired": oracle["missed_wakeups"],
        "wake-ups fired before due": oracle["early_wakeups"],
        "kills": len(report["chaos"]) if cfg.kills else None,
        "restarts, kill to Ready, total s": round(sum(k["restart_s"] for k in report["chaos"]), 1)
        if cfg.kills else None,
        "drained to lag 0": report["drained"],
    }  # fmt: skip
    if cfg.mode == "max":
        ceiling_a = report.get("ceiling_a", {})
        figures["worker drain ev/s"] = report["max_throughput"]["events_per_s"]
        figures["(a) raw aiokafka ceiling ev/s"] = ceiling_a.get("events_per_s")
        if ceiling_a.get("events_per_s"):
            figures["worker / (a)"] = report["max_throughput"]["events_per_s"] / ceiling_a["events_per_s"]
    lines = [format_table(verdict.summary_rows(figures), header=("metric", "value"))]
    if cfg.mode == "max":
        lines.append("latency in this mode is mostly queueing: every event waited in the preloaded topic")
    if "keep_up" in report:
        lines.append(report["keep_up"]["statement"])
    if cfg.kills:
        waits = ("rejoining at once as the same static member" if cfg.settings.static_membership
                 else "waiting for the killed member's session to time out")  # fmt: skip
        lines.append(f"(with {cfg.kills} kill -9s: no worker ran during the restarts above; each restart "
                     f"{waits})")  # fmt: skip
    load = report["machine"]
    during = load["loadavg_1m_during"]
    before, after = load["loadavg_before"][0], load["loadavg_after"][0]
    lines.append(
        f"load average (1 min) before {before:.2f}, during {during.get('mean', 0):.2f} mean / "
        f"{during.get('max', 0):.2f} max, after {after:.2f} ({load['cpus']} cpus, shared with others)"
    )
    return "\n".join(lines)
