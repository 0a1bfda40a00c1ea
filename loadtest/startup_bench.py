"""Benchmark of a worker's start: seconds from spawn until it processes events, against the bare Faust app
of the runtime benchmark (loadtest.faust_passthrough, baseline (b)) started the same way in the same run.

A start is paid on every deploy, every scale-out and every restart after a crash (the kill -9 tests and
`switchyard loadtest --kills`), and by each of the test suite's workers. Each round starts, one after the
other on the same broker:

- (b): the bare Faust app on fresh topics and a fresh group, ready at Faust's `[^Worker]: Ready`;
- worker, new: `switchyard worker` with a fresh app id and data dir (it creates its topics, nothing to
  restore), ready when it logs that it processes events; its Faust `Ready` comes before that (the
  workflow definitions are read to their end in between);
- worker, restart: the same worker stopped (SIGTERM) and started again on its data dir.

Times are the ready line's own log timestamp minus the spawn time, so the polling of the log adds nothing;
CPU is the process's user + system seconds when its ready line was seen (mostly imports: River alone is
about two thirds of the worker's). One unmeasured round first, so a fresh broker's JVM start-up is not
counted. Throughput is starts per minute, one at a time.

    .venv/bin/python -m loadtest.startup_bench [--rounds 5] [--ml on|off]

``--ml off`` starts the worker with predictive scoring off, which does not import River at all.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from agents.kafka_admin import create_topics
from agents.logs import PROCESSING_READY
from agents.settings import Settings
from loadtest.baseline import FAUST_READY, WORK_DIR, Child, baseline_broker, child_env, delete_run_topics
from loadtest.exceptions import LoadtestError
from loadtest.kafka_bench import wait_for_leaders
from loadtest.percentiles import percentile
from loadtest.report import format_table

STAMP = re.compile(rb"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})\]")
KINDS = ("(b) bare Faust", "worker, new", "worker, restart")
READY_TIMEOUT_S = 90.0
PARTITIONS = 8


@dataclass(frozen=True)
class Start:
    seconds: float  # spawn to the ready line
    cpu_seconds: float  # the process's CPU when its ready line was seen
    faust_ready_s: float  # spawn to Faust's own `Ready` (the same as `seconds` for (b))


@dataclass
class Figures:
    starts: dict[str, list[Start]] = field(default_factory=lambda: {kind: [] for kind in KINDS})

    def rows(self) -> list[list[object]]:
        out: list[list[object]] = []
        for kind, starts in self.starts.items():
            seconds = sorted(s.seconds for s in starts)
            mean = sum(seconds) / len(seconds)
            faust = sorted(s.faust_ready_s for s in starts)
            cpu = sorted(s.cpu_seconds for s in starts)
            out.append([kind, len(starts), 60 / mean, percentile(seconds, 50), percentile(seconds, 95),
                        seconds[-1], percentile(faust, 50), percentile(cpu, 50)])  # fmt: skip
        return out

    def ratio(self, kind: str) -> float:
        """``kind``'s median start over (b)'s."""
        median = {k: percentile(sorted(s.seconds for s in v), 50) for k, v in self.starts.items()}
        return median[kind] / median[KINDS[0]]


def stamp_of(line: bytes) -> float:
    """The epoch seconds of a log line's ``[YYYY-MM-DD HH:MM:SS,mmm]`` stamp (local time, as logging
    writes it)."""
    found = STAMP.match(line)
    if found is None:
        raise LoadtestError(f"no timestamp at the start of log line {line[:80]!r}")
    return datetime.strptime(found.group(1).decode(), "%Y-%m-%d %H:%M:%S,%f").timestamp()


def ready_at(log: bytes, marker: bytes) -> float | None:
    """The stamp of the first line of ``log`` holding ``marker``, None when there is none yet."""
    for line in log.splitlines():
        if marker in line:
            return stamp_of(line)
    return None


async def start_and_time(child: Child, marker: bytes, offset: int = 0) -> Start:
    """Wait for ``marker`` in the child's log (past ``offset``); the start's figures, from its spawn."""
    spawned_s = child.spawned_ms / 1000
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        child.check_alive()
        log = child.log_path.read_bytes()[offset:]
        at = ready_at(log, marker)
        if at is not None:
            cpu = child.cpu_seconds() or 0.0
            faust = ready_at(log, FAUST_READY)
            return Start(at - spawned_s, cpu, (faust if faust is not None else at) - spawned_s)
        await asyncio.sleep(0.05)
    raise LoadtestError(
        f"{child.name} did not log {marker!r} within {READY_TIMEOUT_S:.0f}s:\n{child.log_tail()}"
    )


async def bare_faust(bootstrap: str, tag: str, work: Path) -> Start:
    in_topic, out_topic = f"{tag}.in", f"{tag}.out"
    await create_topics(bootstrap, [in_topic, out_topic], PARTITIONS)
    await wait_for_leaders(bootstrap, [in_topic, out_topic], PARTITIONS)
    cmd = [sys.executable, "-m", "loadtest.faust_passthrough", "--bootstrap", bootstrap, "--in-topic",
           in_topic, "--out-topic", out_topic, "--app-id", tag, "--data-dir", str(work / tag),
           "--partitions", str(PARTITIONS)]  # fmt: skip
    child = Child(KINDS[0], cmd, child_env(), work / f"{tag}.log")
    try:
        return await start_and_time(child, FAUST_READY)
    finally:
        child.stop()


async def worker_twice(bootstrap: str, tag: str, work: Path, ml: bool) -> tuple[Start, Start]:
    """A new worker's start, then its restart on the same data dir after a clean stop."""
    settings = Settings(external_kafka=bootstrap, data_dir=work / tag, app_id=tag, topic_prefix=f"{tag}.",
                        partitions=PARTITIONS, web_port=0, log_level="info", ml=ml)  # fmt: skip
    env = child_env(settings.to_env())
    log = work / f"{tag}.log"
    cmd = [sys.executable, "-m", "switchyard", "worker"]
    marker = PROCESSING_READY.encode()
    starts = []
    for kind in KINDS[1:]:
        offset = log.stat().st_size if log.exists() else 0
        child = Child(kind, cmd, env, log)
        try:
            starts.append(await start_and_time(child, marker, offset))
        finally:
            child.stop()
    return starts[0], starts[1]


async def run(bootstrap: str, rounds: int, run_tag: str, work: Path, ml: bool) -> Figures:
    figures = Figures()
    try:
        for index in range(rounds + 1):  # round 0 warms the broker up and is not counted
            b = await bare_faust(bootstrap, f"{run_tag}-b{index}", work)
            new, restart = await worker_twice(bootstrap, f"{run_tag}-w{index}", work, ml)
            if index:
                for kind, start in zip(KINDS, (b, new, restart), strict=True):
                    figures.starts[kind].append(start)
            print(f"round {index}{' (warm-up)' if not index else ''}: (b) {b.seconds:.2f} s, worker new "
                  f"{new.seconds:.2f} s, restart {restart.seconds:.2f} s", flush=True)  # fmt: skip
    finally:
        await delete_run_topics(bootstrap, run_tag)
    return figures


def report(figures: Figures) -> str:
    header = ["start", "starts", "per min", "p50 s", "p95 s", "max s", "Faust ready p50 s", "CPU s p50"]
    ratios = f"worker new / (b): {figures.ratio(KINDS[1]):.2f}; restart / (b): {figures.ratio(KINDS[2]):.2f}"
    return format_table(figures.rows(), header) + "\n" + ratios


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds (after one warm-up round)")
    parser.add_argument("--ml", choices=("on", "off"), default="on", help="the worker's predictive scoring")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        print("loadtest.startup_bench: --rounds must be at least 1", file=sys.stderr)
        return 2
    run_tag = f"startup-{datetime.now(UTC):%Y%m%d%H%M%S}-{os.getpid()}"
    work = WORK_DIR / run_tag
    with baseline_broker(keep=False) as bootstrap:
        try:
            figures = asyncio.run(run(bootstrap, args.rounds, run_tag, work, args.ml == "on"))
        finally:
            shutil.rmtree(work, ignore_errors=True)
    print(f"startup bench: {args.rounds} round(s) on {bootstrap}, {PARTITIONS} partitions, "
          f"scoring {args.ml}, load average {os.getloadavg()[0]:.2f} at the end")  # fmt: skip
    print(report(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
