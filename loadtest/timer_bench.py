"""Timer benchmark: N waits falling due within the same minute, in one worker; every wake-up read back.

    python -m loadtest.timer_bench [--timers 10000] [--lead-seconds 40] [--spread-seconds 60]

1. publish `bench_wait` to the run's `workflows` topic: trigger `bench.wait`, one `wait` node with
   `until_date: event.due_at` (an epoch-ms property, so the due time is exact), then a `notify` action;
2. start one worker; once it is ready, preload N `bench.wait` events (one per contact, event time now)
   whose `due_at` spread evenly over `--spread-seconds`, starting `--lead-seconds` later;
3. wait until N `timer.fired` events are on `events` and N actions on `actions.notify` (or a deadline);
4. read both back and check: every timer fired at least once (duplicates counted), none early
   (fired_at >= due and the wake-up's record timestamp >= due), the wake-up carries the expected due,
   and every action exists once with ts == due. Printed: lateness (fired_at - due) and action lateness
   (action record timestamp - due) percentiles, and the time to drain (last due -> last action).
Results go to reports/timers.json. Broker: SWITCHYARD_KAFKA if set, else the project's launcher on
127.0.0.1:19692 (work dir BENCH_ROOT/benchbroker2), stopped at the end when this run started it. The run's
topics and state directory are deleted at the end; the worker's log stays in BENCH_ROOT/tmbench.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from agents.catalog import plan_publish, write_records
from agents.kafka_admin import end_offsets, ensure_worker_topics
from agents.settings import Settings
from agents.timers import TIMER_EVENT
from agents.topic_reader import read_to_end
from agents.topics import action_topic
from agents.worker_process import REPO, WorkerProcess
from loadtest.baseline import delete_run_topics
from loadtest.kafka_bench import (
    BENCH_ROOT,
    LatencySummary,
    Record,
    bench_broker,
    contact_id,
    encode_event,
    latency_summary,
    preload,
    wait_for_leaders,
    write_report,
)
from loadtest.runtime_bench import BENCH_CONTROLLER_PORT, BENCH_PORT, BROKER_DIR  # the same broker

WORK_DIR = BENCH_ROOT / "tmbench"
TRIGGER = "bench.wait"
CHANNEL = "notify"
WORKFLOW: dict[str, Any] = {
    "id": "bench_wait",
    "version": 1,
    "name": "Timer benchmark",
    "status": "published",
    "trigger": {"event": TRIGGER},
    "settings": {"reentry": "always"},
    "start": "wait_due",
    "nodes": {
        "wait_due": {"type": "wait", "until_date": "event.due_at", "next": "fire"},
        "fire": {
            "type": "action",
            "action": "notify",
            "params": {"team": "bench", "reason": "alert", "message": "timer {{ run.vars.seq }}"},
        },
    },
}


# -- pure pieces ------------------------------------------------------------------------------------


def due_times(n: int, first_due_ms: int, spread_ms: int) -> list[int]:
    """`n` due times spread evenly over [first_due_ms, first_due_ms + spread_ms)."""
    if n <= 0 or spread_ms < 0:
        raise ValueError("need n > 0 and spread_ms >= 0")
    return [first_due_ms + i * spread_ms // n for i in range(n)]


def wait_events(dues: Sequence[int], now_ms: int, prefix: str = "t") -> list[Record]:
    """One `bench.wait` event per contact, stamped `now_ms`, asking to wait until its due time."""
    out: list[Record] = []
    for index, due in enumerate(dues):
        contact = contact_id(prefix, index)
        props = {"due_at": due, "seq": index}
        out.append((contact.encode(), encode_event(f"{prefix}w{index:08d}", contact, TRIGGER, now_ms, props)))
    return out


@dataclass(frozen=True)
class FiringReport:
    expected: int
    fired_contacts: int
    fired_total: int
    duplicates: int  # wake-ups beyond the first one per contact
    missing: int  # contacts whose timer never fired
    early: int  # fired_at < due, or the wake-up record was written before its due time
    wrong_due: int  # the wake-up names another due time than the one asked for
    actions_total: int
    action_missing: int
    action_duplicates: int
    action_ts_mismatch: int  # action ts != the due time
    lateness: LatencySummary  # fired_at - due
    record_lateness: LatencySummary  # wake-up record timestamp - due
    action_lateness: LatencySummary  # action record timestamp - due
    first_due_ms: int
    last_due_ms: int
    last_action_ms: int | None

    @property
    def drain_ms(self) -> int | None:
        """From the last due time until the last action was written."""
        return None if self.last_action_ms is None else self.last_action_ms - self.last_due_ms

    @property
    def ok(self) -> bool:
        return not (self.missing or self.early or self.wrong_due or self.action_missing
                    or self.action_ts_mismatch)  # fmt: skip


def analyse(
    expected: Mapping[str, int],
    wakeups: Sequence[tuple[int, dict[str, Any]]],
    actions: Sequence[tuple[int, dict[str, Any]]],
) -> FiringReport:
    """`expected`: contact -> due; `wakeups` and `actions`: (record timestamp, decoded value)."""
    fired = Counter[str]()
    lateness: list[float] = []
    record_lateness: list[float] = []
    early = wrong_due = 0
    for record_ts, event in wakeups:
        contact = event["contact_id"]
        due = expected.get(contact)
        if due is None:
            continue
        fired[contact] += 1
        props = event["properties"]
        if props.get("due") != due or event.get("ts") != due:
            wrong_due += 1
        fired_at = int(props.get("fired_at", 0))
        if fired_at < due or record_ts < due:
            early += 1
        if fired[contact] == 1:
            lateness.append(fired_at - due)
            record_lateness.append(record_ts - due)
    acted = Counter[str]()
    action_lateness: list[float] = []
    ts_mismatch = 0
    last_action: int | None = None
    for record_ts, action in actions:
        contact = action["contact_id"]
        due = expected.get(contact)
        if due is None:
            continue
        acted[contact] += 1
        if action.get("ts") != due:
            ts_mismatch += 1
        if acted[contact] == 1:
            action_lateness.append(record_ts - due)
        last_action = record_ts if last_action is None else max(last_action, record_ts)
    return FiringReport(
        expected=len(expected), fired_contacts=len(fired), fired_total=sum(fired.values()),
        duplicates=sum(n - 1 for n in fired.values()), missing=len(expected) - len(fired), early=early,
        wrong_due=wrong_due, actions_total=sum(acted.values()), action_missing=len(expected) - len(acted),
        action_duplicates=sum(n - 1 for n in acted.values()), action_ts_mismatch=ts_mismatch,
        lateness=latency_summary(lateness, missing=len(expected) - len(fired)),
        record_lateness=latency_summary(record_lateness), action_lateness=latency_summary(action_lateness),
        first_due_ms=min(expected.values()), last_due_ms=max(expected.values()), last_action_ms=last_action,
    )  # fmt: skip


def report_lines(report: FiringReport) -> list[str]:
    def row(name: str, lat: LatencySummary) -> str:
        figures = f"{lat.p50_ms:>7.0f} {lat.p95_ms:>7.0f} {lat.p99_ms:>7.0f} {lat.max_ms:>7.0f}"
        return f"{name:<42} {lat.count:>7,} {figures}"

    drain = "n/a" if report.drain_ms is None else f"{report.drain_ms / 1000:.2f} s"
    return [
        f"timers {report.expected:,}: fired for {report.fired_contacts:,} contacts ({report.fired_total:,} "
        f"wake-ups, {report.duplicates} duplicate(s)), missing {report.missing}, early {report.early}, "
        f"wrong due {report.wrong_due}",
        f"actions {report.actions_total:,}: missing {report.action_missing}, duplicates "
        f"{report.action_duplicates}, ts != due {report.action_ts_mismatch}",
        f"{'lateness (ms)':<42} {'count':>7} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7}",
        row("fired_at - due (timer service)", report.lateness),
        row("wake-up record timestamp - due", report.record_lateness),
        row("action record timestamp - due (end to end)", report.action_lateness),
        f"due window {(report.last_due_ms - report.first_due_ms) / 1000:.1f} s; drained {drain} after the "
        f"last due time; verdict: {'OK' if report.ok else 'FAILED'}",
    ]


# -- the run ----------------------------------------------------------------------------------------


async def wait_for_counts(settings: Settings, expected: int, deadline_ms: int, worker: WorkerProcess) -> None:
    """Until `events` holds N wake-ups on top of the N inputs and `actions.notify` N actions."""
    events_topic, actions_topic = settings.topic("events"), settings.topic(action_topic(CHANNEL))
    next_note = time.monotonic() + 10.0
    while int(time.time() * 1000) < deadline_ms:
        if not worker.alive():
            raise RuntimeError(f"the worker exited:\n{worker.log_tail()}")
        wakeups = sum((await end_offsets(settings.bootstrap, events_topic)).values()) - expected
        actions = sum((await end_offsets(settings.bootstrap, actions_topic)).values())
        if wakeups >= expected and actions >= expected:
            return
        if time.monotonic() >= next_note:
            print(f"   {datetime.now(UTC):%H:%M:%S} wake-ups {wakeups:,}, actions {actions:,}", flush=True)
            next_note += 10.0
        await asyncio.sleep(0.5)
    print("   deadline reached; checking what arrived", flush=True)


async def run(bootstrap: str, run_tag: str, n: int, lead_s: float, spread_s: float) -> dict[str, Any]:
    settings = Settings(
        external_kafka=bootstrap, data_dir=WORK_DIR / run_tag, app_id=run_tag, topic_prefix=f"{run_tag}.",
        partitions=8, web_port=0, log_level="info",
    )  # fmt: skip
    events_topic = settings.topic("events")
    await ensure_worker_topics(settings)
    await wait_for_leaders(bootstrap, [events_topic], settings.partitions)
    await wait_for_leaders(bootstrap, [settings.topic("workflows")], 1)
    await write_records(bootstrap, settings.topic("workflows"), [plan_publish({}, WORKFLOW)])
    worker = WorkerProcess(settings, WORK_DIR / f"{run_tag}.log")
    await asyncio.to_thread(worker.start, 120.0)
    try:
        started_ms = int(time.time() * 1000)
        dues = due_times(n, started_ms + int(lead_s * 1000), int(spread_s * 1000))
        records = wait_events(dues, started_ms)
        loaded = await preload(bootstrap, events_topic, records, settings.partitions)
        print(f"   {n:,} waits produced in {loaded.seconds:.2f} s; due from +{lead_s:g} s for {spread_s:g} s",
              flush=True)  # fmt: skip
        await wait_for_counts(settings, n, dues[-1] + 120_000, worker)
        finished_ms = int(time.time() * 1000)
    finally:
        await asyncio.to_thread(worker.stop)
    expected = {orjson.loads(value)["contact_id"]: due for (_, value), due in zip(records, dues, strict=True)}
    wakeups = []
    for record in await read_to_end(bootstrap, events_topic):
        event = orjson.loads(record.value) if record.value else {}
        if event.get("type") == TIMER_EVENT:
            wakeups.append((record.timestamp, event))
    actions = [
        (record.timestamp, orjson.loads(record.value))
        for record in await read_to_end(bootstrap, settings.topic(action_topic(CHANNEL)))
        if record.value
    ]
    report = analyse(expected, wakeups, actions)
    return {
        "report": report, "started_ms": started_ms, "finished_ms": finished_ms,
        "preload_s": round(loaded.seconds, 3), "log": str(worker.log_path),
    }  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="loadtest.timer_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--timers", type=int, default=10_000)
    parser.add_argument("--lead-seconds", type=float, default=40.0, help="first due time after the start")
    parser.add_argument("--spread-seconds", type=float, default=60.0, help="due times spread over this")
    parser.add_argument("--report", type=Path, default=REPO / "reports" / "timers.json")
    parser.add_argument("--keep-broker", action="store_true", help="leave the benchmark broker running")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.timers <= 0 or args.lead_seconds < 0 or args.spread_seconds < 0:
        raise SystemExit("loadtest.timer_bench: --timers must be positive, the seconds not negative")
    run_tag = f"tmbench-{datetime.now(UTC):%Y%m%d%H%M%S}-{os.getpid()}"
    load_before = os.getloadavg()
    started = datetime.now(UTC)

    async def run_and_clean(bootstrap: str) -> dict[str, Any]:
        try:
            return await run(bootstrap, run_tag, args.timers, args.lead_seconds, args.spread_seconds)
        finally:
            deleted = await delete_run_topics(bootstrap, run_tag)
            print(f"deleted {len(deleted)} topic(s) of run {run_tag}", flush=True)

    with bench_broker(BROKER_DIR, BENCH_PORT, BENCH_CONTROLLER_PORT, args.keep_broker) as bootstrap:
        try:
            outcome = asyncio.run(run_and_clean(bootstrap))
        finally:
            shutil.rmtree(WORK_DIR / run_tag, ignore_errors=True)
    report: FiringReport = outcome.pop("report")
    print()
    for line in report_lines(report):
        print(line)
    document = {
        "benchmark": "timers", "run": run_tag, "started_at": started.isoformat(), "bootstrap": bootstrap,
        "timers": args.timers, "lead_seconds": args.lead_seconds, "spread_seconds": args.spread_seconds,
        "workflow": WORKFLOW,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(), "loadavg_before": load_before,
                    "loadavg_after": os.getloadavg()},
        "result": {key: getattr(report, key) for key in report.__dataclass_fields__
                   if not isinstance(getattr(report, key), LatencySummary)},
        "lateness_ms": report.lateness.as_dict(), "record_lateness_ms": report.record_lateness.as_dict(),
        "action_lateness_ms": report.action_lateness.as_dict(), "drain_ms": report.drain_ms, "ok": report.ok,
        **outcome,
    }  # fmt: skip
    print(f"report: {write_report(args.report, document)}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
