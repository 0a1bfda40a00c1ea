"""Baseline benchmark: raw aiokafka (a), a bare Faust agent (b) and the real profile worker (c), one run.

    python -m loadtest.baseline [--events 200000] [--contacts 100000] [--event-loop uvloop|asyncio|both]
                                [--paths a,b,c] [--rate 2000] [--paced-seconds 5] [--keep-broker]

Per path and event loop:
1. fresh topics (8 partitions) and a fresh consumer group / app id, named after this run;
2. preload N events for `--contacts` distinct contacts into the input topic;
3. start the consumer process; it starts on a full topic, so start-up never counts: throughput is
   N / (last output timestamp - first output timestamp), both stamped by the process's own producer
   (output topic for a/b, the contacts changelog for c). For c, the wall-clock time at which the
   group's committed lag reached 0 gives a second, coarser figure (commits happen once a second);
4. a paced phase (`--rate` events/s for `--paced-seconds`, one event per fresh contact): latency from
   each input record's create timestamp to its output record's timestamp (c: its changelog record).
For c the contacts changelog is also read back: one key per contact, and the profiles' event counts
add up to N. Results print as a table and go to reports/baseline.json. Broker: SWITCHYARD_KAFKA if set,
else the project's launcher on 127.0.0.1:19592 (work dir BENCH_ROOT/benchbroker), stopped at the end when
this run started it, unless --keep-broker. The run's topics and state directories are deleted at the end.

The flag is --event-loop, not --loop: `import faust` reads `--loop X` from sys.argv itself, switches the
loop and exports FAUST_LOOP to every child. For the same reason children get an environment without it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agents.changelog import changelog_topic, read_contacts
from agents.kafka_admin import (
    create_topics,
    delete_topics,
    ensure_worker_topics,
    topic_names,
)
from agents.settings import Settings
from agents.topic_reader import KNOWN_TOPIC_WAIT_S, metadata_consumer, topic_end_offsets
from agents.worker_process import REPO, last_lines, stop_process
from broker.launcher import proc_stat_fields
from loadtest.kafka_bench import (
    BENCH_ROOT,
    LatencySummary,
    Record,
    bench_broker,
    collect_timestamps,
    edge_timestamps,
    generate_events,
    match_latencies,
    one_event_per_contact,
    paced_produce,
    preload,
    wait_for_leaders,
    write_report,
)
from loadtest.meter import OffsetProbe
from tables.contacts import CONTACTS_TABLE

BENCH_PORT = 19592
BENCH_CONTROLLER_PORT = 19593
BROKER_DIR = BENCH_ROOT / "benchbroker"
WORK_DIR = BENCH_ROOT / "bench"
FAUST_READY = b"[^Worker]: Ready"
RAW_READY = b"READY"
QUIX_READY = b"READY"
STALL_S = 60.0
PATH_NAMES = {"a": "raw aiokafka", "b": "bare Faust agent", "c": "profile worker", "q": "quix-streams peer"}
# The shipped worker always picks uvloop; for its asyncio variant we switch that one function off.
WORKER_ON_ASYNCIO = (
    "import asyncio, agents.worker as w; w.use_uvloop = lambda: False; "
    "print('event loop policy:', type(asyncio.get_event_loop_policy()).__module__, flush=True); "
    "from switchyard.cli import main; raise SystemExit(main(['worker']))"
)
FAUST_LOOP_VARIABLES = ("FAUST_LOOP", "F_LOOP")


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in FAUST_LOOP_VARIABLES}
    return {**env, **(extra or {})}


class BenchError(RuntimeError):
    """A benchmark step that could not finish (a child exited, a deadline passed, a check failed)."""


@dataclass(frozen=True)
class BenchConfig:
    bootstrap: str
    run_tag: str
    events: int
    contacts: int
    partitions: int
    rate: float
    paced_seconds: float
    seed: int
    faust_send_mode: str
    work_dir: Path
    profile_dir: Path | None

    def remove_child_dirs(self) -> None:
        """The data dirs the run's children left in ``work_dir``."""
        for child_dir in self.work_dir.glob(f"{self.run_tag}-*"):
            if child_dir.is_dir():
                shutil.rmtree(child_dir, ignore_errors=True)


@dataclass
class PathResult:
    path: str
    loop: str
    method: str
    events: int
    seconds: float
    events_per_s: float
    latency: LatencySummary
    paced_rate: float
    preload_per_s: float
    first_output_after_spawn_s: float
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path, "name": PATH_NAMES[self.path], "loop": self.loop, "method": self.method,
            "events": self.events, "seconds": round(self.seconds, 3),
            "events_per_s": round(self.events_per_s, 1),
            "latency_ms": self.latency.as_dict(), "paced_rate": round(self.paced_rate, 1),
            "preload_per_s": round(self.preload_per_s, 1),
            "first_output_after_spawn_s": round(self.first_output_after_spawn_s, 2), **self.extra,
        }  # fmt: skip


class Child:
    """A benchmark process with its output in a log file; stopped with SIGTERM, killed if it lingers."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self.spawned_ms = int(time.time() * 1000)
        with open(log_path, "ab") as log:
            self.proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)  # fmt: skip

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            raise BenchError(f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}")

    async def wait_for(self, marker: bytes, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            if marker in self.log_path.read_bytes():
                return
            await asyncio.sleep(0.2)
        raise BenchError(f"{self.name} did not log {marker!r} within {timeout:.0f}s:\n{self.log_tail()}")

    def cpu_seconds(self) -> float | None:
        """User + system CPU seconds the process has used so far (None once it has exited or off Linux)."""
        return process_cpu_seconds(self.proc.pid)

    def stop(self, timeout: float = 30.0) -> None:
        stop_process(self.proc, timeout)

    def log_tail(self, lines: int = 30) -> str:
        return last_lines(self.log_path, lines)


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid``, all its threads, from /proc/<pid>/stat (None when
    there is no such file: the process is gone, or this is not Linux)."""
    fields = proc_stat_fields(pid)
    if fields is None:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime (fields 14, 15)


def machine_busy_seconds(stat: Path = Path("/proc/stat")) -> float | None:
    """CPU seconds all cores have spent on anything but idle and I/O wait since boot, from the first line
    of /proc/stat (None when it cannot be read: not Linux)."""
    try:
        fields = stat.read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    if len(fields) < 9 or fields[0] != "cpu":
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")  # guest time is in user


# -- waiting for a path to finish -----------------------------------------------------------------


def deadline_for(events: int) -> float:
    return time.monotonic() + 120.0 + events / 500.0


async def wait_for_output_count(cfg: BenchConfig, topic: str, expected: int, child: Child) -> None:
    """Until `topic` holds `expected` records (polling end offsets: cheap for the machine under test)."""
    deadline = deadline_for(expected)
    last_count, last_change = -1, time.monotonic()
    async with metadata_consumer(cfg.bootstrap) as consumer:
        while True:
            child.check_alive()
            count = sum((await topic_end_offsets(consumer, topic, KNOWN_TOPIC_WAIT_S)).values())
            if count >= expected:
                return
            now = time.monotonic()
            if count != last_count:
                last_count, last_change = count, now
            if now - last_change > STALL_S or now > deadline:
                raise BenchError(
                    f"{child.name}: {count}/{expected} records on {topic}, no longer progressing"
                )
            await asyncio.sleep(0.25)


async def wait_for_group_lag_zero(cfg: BenchConfig, group: str, topic: str, child: Child) -> int:
    """Until the group's committed lag on `topic` is 0; returns the wall-clock ms when that was seen. The
    lag is read through clients kept open for the wait, as `wait_for_output_count` keeps its one."""
    deadline = deadline_for(cfg.events)
    last_lag, last_change = -1, time.monotonic()
    async with OffsetProbe(cfg.bootstrap, group, topic, cfg.partitions) as probe:
        async for lag in probe.lags(every_s=0.25):
            child.check_alive()
            if lag == 0:
                return int(time.time() * 1000)
            now = time.monotonic()
            if lag != last_lag:
                last_lag, last_change = lag, now
            if now - last_change > STALL_S or now > deadline:
                raise BenchError(f"{child.name}: lag {lag} on {topic}, no longer shrinking")
    raise AssertionError("unreachable: the lag readings never end")


async def paced_latency(
    cfg: BenchConfig, in_topic: str, out_topic: str, records: Sequence[Record]
) -> tuple[LatencySummary, float]:
    async with metadata_consumer(cfg.bootstrap) as consumer:
        start = await topic_end_offsets(consumer, out_topic, KNOWN_TOPIC_WAIT_S)
    deadline = time.monotonic() + len(records) / cfg.rate + 30.0
    keys = [key for key, _ in records]
    collector = asyncio.create_task(collect_timestamps(cfg.bootstrap, out_topic, start, keys, deadline))
    sent = await paced_produce(cfg.bootstrap, in_topic, records, cfg.rate)
    arrived = await collector
    return match_latencies(sent.sent_ts, arrived), sent.rate


# -- the three paths ------------------------------------------------------------------------------


def python_cmd(profile_to: Path | None) -> list[str]:
    if profile_to is None:
        return [sys.executable]
    return [sys.executable, "-m", "cProfile", "-o", str(profile_to)]


async def run_passthrough(
    cfg: BenchConfig, path: str, loop: str, records: Sequence[Record], paced: Sequence[Record]
) -> PathResult:
    tag = f"{cfg.run_tag}-{path}-{loop}"
    in_topic, out_topic = f"{tag}.in", f"{tag}.out"
    await create_topics(cfg.bootstrap, [in_topic, out_topic], cfg.partitions)
    await wait_for_leaders(cfg.bootstrap, [in_topic, out_topic], cfg.partitions)
    loaded = await preload(cfg.bootstrap, in_topic, records, cfg.partitions)
    log = cfg.work_dir / f"{tag}.log"
    common = ["--bootstrap", cfg.bootstrap, "--in-topic", in_topic, "--out-topic", out_topic]
    common += ["--event-loop", loop]
    if path == "a":
        cmd = [sys.executable, "-m", "loadtest.raw_passthrough", *common, "--group", tag]
        method = "getmany(2000) -> send_batch per partition -> gather futures per fetch; commit every 1 s"
        marker = RAW_READY
    elif path == "q":
        cmd = [sys.executable, "-m", "loadtest.quix_peer", "--bootstrap", cfg.bootstrap,
               "--in-topic", in_topic, "--out-topic", out_topic, "--group", tag,
               "--state-dir", str(cfg.work_dir / tag)]  # fmt: skip
        method = "quix-streams: JSON in, per-key count in RocksDB state with a changelog, JSON out"
        marker = QUIX_READY
    else:
        cmd = [sys.executable, "-m", "loadtest.faust_passthrough", *common, "--app-id", tag,
               "--data-dir", str(cfg.work_dir / tag), "--partitions", str(cfg.partitions),
               "--send-mode", cfg.faust_send_mode]  # fmt: skip
        method = (
            "take_events(1000, 0.05) -> app.producer.send per event -> gather futures per batch"
            if cfg.faust_send_mode == "gather"
            else "take_events(1000, 0.05) -> topic.send_soon per event (fire and forget)"
        )
        marker = FAUST_READY
    child = Child(f"({path}) {PATH_NAMES[path]}", cmd, child_env(), log)
    try:
        await child.wait_for(marker, 90.0)
        await wait_for_output_count(cfg, out_topic, len(records), child)
        first, last, count = await edge_timestamps(cfg.bootstrap, out_topic)
        seconds = max(last - first, 1) / 1000
        latency, paced_rate = await paced_latency(cfg, in_topic, out_topic, paced)
    finally:
        child.stop()
    return PathResult(
        path=path, loop=loop, method=method, events=len(records), seconds=seconds,
        events_per_s=len(records) / seconds, latency=latency, paced_rate=paced_rate,
        preload_per_s=loaded.per_second, first_output_after_spawn_s=(first - child.spawned_ms) / 1000,
        extra={"output_records": count},
    )  # fmt: skip


async def run_profile_worker(
    cfg: BenchConfig, loop: str, records: Sequence[Record], paced: Sequence[Record]
) -> PathResult:
    tag = f"{cfg.run_tag}-c-{loop}"
    settings = Settings(
        external_kafka=cfg.bootstrap, data_dir=cfg.work_dir / tag, app_id=tag, topic_prefix=f"{tag}.",
        partitions=cfg.partitions, web_port=0, log_level="info",
    )  # fmt: skip
    events_topic = settings.topic("events")
    changelog = changelog_topic(settings.app_id, CONTACTS_TABLE)
    await ensure_worker_topics(settings)
    await wait_for_leaders(cfg.bootstrap, [events_topic], cfg.partitions)
    loaded = await preload(cfg.bootstrap, events_topic, records, cfg.partitions)
    profile_to = cfg.profile_dir / f"{tag}.prof" if cfg.profile_dir else None
    if loop == "uvloop":
        cmd = [*python_cmd(profile_to), "-m", "switchyard", "worker"]
    else:
        cmd = [*python_cmd(profile_to), "-c", WORKER_ON_ASYNCIO]
    child = Child("(c) profile worker", cmd, child_env(settings.to_env()), cfg.work_dir / f"{tag}.log")
    try:
        await child.wait_for(FAUST_READY, 120.0)
        lag_zero_ms = await wait_for_group_lag_zero(cfg, settings.app_id, events_topic, child)
        first, last, count = await edge_timestamps(cfg.bootstrap, changelog)
        seconds = max(last - first, 1) / 1000
        states = await asyncio.to_thread(read_contacts, cfg.bootstrap, settings.app_id)
        counted = sum(sum(state["profile"]["counts"].values()) for state in states.values())
        expected_contacts = len({key for key, _ in records})
        latency, paced_rate = await paced_latency(cfg, events_topic, changelog, paced)
    finally:
        child.stop()
    checks = {"contacts_in_changelog": len(states), "contacts_expected": expected_contacts,
              "events_counted_in_profiles": counted, "events_expected": len(records)}  # fmt: skip
    if len(states) != expected_contacts or counted != len(records):
        raise BenchError(f"(c) profile worker: wrong final state: {checks}")
    lag_seconds = (lag_zero_ms - first) / 1000
    return PathResult(
        path="c", loop=loop, method="python -m switchyard worker (as shipped), batch 1000 / 0.05 s",
        events=len(records), seconds=seconds, events_per_s=len(records) / seconds, latency=latency,
        paced_rate=paced_rate, preload_per_s=loaded.per_second,
        first_output_after_spawn_s=(first - child.spawned_ms) / 1000,
        extra={"changelog_records": count, "lag_zero_seconds": round(lag_seconds, 3),
               "lag_zero_events_per_s": round(len(records) / lag_seconds, 1) if lag_seconds > 0 else None,
               "checks": checks, **({"profile": str(profile_to)} if profile_to else {})},
    )  # fmt: skip


# -- the run ------------------------------------------------------------------------------------


async def run_topics(bootstrap: str, run_tag: str) -> list[str]:
    """The topics whose names start with ``run_tag``: a run's own and its tables' changelogs."""
    return sorted(name for name in await topic_names(bootstrap) if name.startswith(run_tag))


async def delete_run_topics(bootstrap: str, run_tag: str) -> list[str]:
    names = await run_topics(bootstrap, run_tag)
    await delete_topics(bootstrap, names)
    return names


async def run_all(cfg: BenchConfig, paths: Sequence[str], loops: Sequence[str]) -> list[PathResult]:
    now_ms = int(time.time() * 1000)
    records = generate_events(cfg.events, cfg.contacts, base_ts=now_ms - cfg.events * 3, seed=cfg.seed)
    paced = one_event_per_contact(int(cfg.rate * cfg.paced_seconds), base_ts=now_ms, seed=cfg.seed + 1)
    sizes = [len(value) for _, value in records]
    print(f"generated {len(records):,} events for {cfg.contacts:,} contacts, "
          f"{min(sizes)}-{max(sizes)} bytes (mean {sum(sizes) / len(sizes):.0f})", flush=True)  # fmt: skip
    results: list[PathResult] = []
    try:
        for loop in loops:
            for path in paths:
                print(f"-- ({path}) {PATH_NAMES[path]} on {loop} ...", flush=True)
                if path == "c":
                    result = await run_profile_worker(cfg, loop, records, paced)
                else:
                    result = await run_passthrough(cfg, path, loop, records, paced)
                results.append(result)
                print("   " + format_row(result), flush=True)
    finally:
        deleted = await delete_run_topics(cfg.bootstrap, cfg.run_tag)
        print(f"deleted {len(deleted)} topic(s) of run {cfg.run_tag}", flush=True)
    return results


def format_row(r: PathResult) -> str:
    lat = r.latency
    missing = f"  ({lat.missing} missing)" if lat.missing else ""
    figures = f"{lat.p50_ms:>7.0f} {lat.p95_ms:>7.0f} {lat.p99_ms:>7.0f} {lat.max_ms:>7.0f}"
    return f"({r.path}) {PATH_NAMES[r.path]:<17} {r.loop:<8} {r.events_per_s:>10,.0f} {figures}{missing}"


def ratios(results: Sequence[PathResult]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for loop in dict.fromkeys(r.loop for r in results):
        rate = {r.path: r.events_per_s for r in results if r.loop == loop}
        if "c" not in rate:
            continue
        out[loop] = {f"c/{base}": round(rate["c"] / rate[base], 3) for base in ("a", "b") if base in rate}
    return out


def print_table(results: Sequence[PathResult], cfg: BenchConfig) -> None:
    print()
    print(f"baseline: {cfg.events:,} events, {cfg.contacts:,} contacts, {cfg.partitions} partitions; "
          f"latency at {cfg.rate:,.0f} ev/s for {cfg.paced_seconds:g} s")  # fmt: skip
    print(
        f"{'path':<21} {'loop':<8} {'events/s':>10} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7}"
    )
    for result in results:
        print(format_row(result))
    for loop, values in ratios(results).items():
        if not values:
            continue
        print(f"ratios on {loop}: " + ", ".join(f"{name} = {value:.3f}" for name, value in values.items()))
    for result in results:
        if result.path == "c":
            print(f"(c) on {result.loop}: lag reached 0 after {result.extra['lag_zero_seconds']} s "
                  f"-> {result.extra['lag_zero_events_per_s']} ev/s by committed offsets; checks "
                  f"{result.extra['checks']}")  # fmt: skip


def baseline_broker(keep: bool) -> AbstractContextManager[str]:
    """The baselines' broker (`bench_broker`): the project's config (no initial rebalance delay) on
    BENCH_PORT."""
    return bench_broker(BROKER_DIR, BENCH_PORT, BENCH_CONTROLLER_PORT, keep, rebalance_delay_ms=0)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="loadtest.baseline", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--rate", type=float, default=2000.0, help="paced phase, events/s")
    parser.add_argument("--paced-seconds", type=float, default=5.0)
    parser.add_argument("--paths", default="a,b,c", help="comma-separated subset of a,b,c")
    parser.add_argument("--event-loop", choices=["uvloop", "asyncio", "both"], default="uvloop",
                        help="event loop of the three processes (the worker ships with uvloop)")  # fmt: skip
    parser.add_argument("--faust-send", choices=["gather", "soon"], default="gather",
                        help="(b): producer.send + gather per batch, or topic.send_soon")  # fmt: skip
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--report", type=Path, default=REPO / "reports" / "baseline.json")
    parser.add_argument("--profile-dir", type=Path, default=None,
                        help="run (c) under cProfile and write its .prof here (slows it down)")  # fmt: skip
    parser.add_argument("--keep-broker", action="store_true", help="leave the benchmark broker running")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    paths = [p for p in args.paths.split(",") if p]
    if not paths or any(p not in PATH_NAMES for p in paths) or args.events <= 0 or args.contacts <= 0:
        print(
            "loadtest.baseline: --paths takes a,b,c; --events and --contacts must be positive",
            file=sys.stderr,
        )
        return 2
    loops = ["uvloop", "asyncio"] if args.event_loop == "both" else [args.event_loop]
    run_tag = f"bench-{datetime.now(UTC):%Y%m%d%H%M%S}-{os.getpid()}"
    started = datetime.now(UTC)
    load_before = os.getloadavg()
    with baseline_broker(args.keep_broker) as bootstrap:
        cfg = BenchConfig(
            bootstrap=bootstrap, run_tag=run_tag, events=args.events, contacts=args.contacts,
            partitions=args.partitions, rate=args.rate, paced_seconds=args.paced_seconds, seed=args.seed,
            faust_send_mode=args.faust_send, work_dir=WORK_DIR / run_tag, profile_dir=args.profile_dir,
        )  # fmt: skip
        try:
            results = asyncio.run(run_all(cfg, paths, loops))
        finally:
            cfg.remove_child_dirs()
    print_table(results, cfg)
    report = {
        "benchmark": "baseline", "run": run_tag, "started_at": started.isoformat(), "bootstrap": bootstrap,
        "events": cfg.events, "contacts": cfg.contacts, "partitions": cfg.partitions,
        "paced": {"rate": cfg.rate, "seconds": cfg.paced_seconds},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(), "loadavg_before": load_before,
                    "loadavg_after": os.getloadavg()},
        "throughput_timing": "first to last output record timestamp (processes start on a preloaded topic)",
        "latency_timing": "input record create timestamp to output record timestamp (c: changelog record)",
        "results": [r.as_dict() for r in results], "ratios": ratios(results),
        "logs": str(cfg.work_dir),
    }  # fmt: skip
    print(f"report: {write_report(args.report, report)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
