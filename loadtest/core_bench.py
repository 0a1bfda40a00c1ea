"""Benchmark of the worker's per-event core in one process: what it does for each event apart from Kafka,
RocksDB and its own bookkeeping.

The stream is the runtime benchmark's (loadtest/runtime_workload.py: every contact's first sight, then the
mixed stream) with its 21 workflows (loadtest/step_bench.py). For each event, as agents/processor.py does
it: decode the contact's stored state, the model hints of a contact that has none yet, the engine's step,
the models' observe, encode the new state, encode the output records (actions and step records). States
are kept as encoded bytes between events, as in RocksDB. Timer wake-ups (under 1 % of the runtime
benchmark's events) are left out. Figures cover the mixed stream; the first sights warm up.

Baseline, measured in the same run: decoding and encoding, with nothing in between, the very state bytes
the core decoded for each event of the mixed stream (the state as it was before that event, kept for the
purpose), in the same order: the least a processor keeping this state pays.

Compare the total with the `us per event` of the runtime benchmark's CPU line: the difference is what the
worker spends outside this core (Kafka in and out, RocksDB, the outbox, timers, Faust's consumer thread).

    .venv/bin/python -m loadtest.core_bench [--events 200000] [--contacts 100000] [--ml on|off] [--seed 7]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson

from agents.scoring import Predictions
from engine.step import step
from engine.types import ContactState, Event
from engine.workflows import WorkflowSet
from loadtest.percentiles import percentile
from loadtest.report import format_table
from loadtest.runtime_workload import generate_workload
from loadtest.step_bench import definitions
from tables.codec import decode_state

NOW_MS = 1_767_261_600_000  # fixed, so the stream is the same on every run
STAGES = ("state decode", "hints", "engine step", "models observe", "state encode", "records encode")
COLLECT_EVERY = 2_000  # events between collections, as the worker collects between its batches


@dataclass(frozen=True)
class CoreFigures:
    events: int
    stage_ns: dict[str, int]  # summed over the measured events
    per_event_ns: list[int]  # sorted
    baseline_ns: int  # the baseline's time to decode and encode the states the core decoded
    states: dict[str, bytes]  # every contact's state at the end, encoded
    baseline_bytes: int = 0  # how many bytes of state the baseline decoded (= those the core decoded)

    @property
    def state_bytes(self) -> list[int]:
        return sorted(len(raw) for raw in self.states.values())

    @property
    def total_ns(self) -> int:
        return sum(self.stage_ns.values())

    def us_per_event(self, ns: int) -> float:
        return ns / self.events / 1000

    def percentile_us(self, q: float) -> float:
        return percentile(self.per_event_ns, q) / 1000


def run_core(
    first: Sequence[bytes], mixed: Sequence[bytes], workflows: WorkflowSet, predictions: Predictions | None
) -> CoreFigures:
    """The core over ``first`` (not measured) then ``mixed``, one event at a time."""
    store: dict[str, bytes] = {}
    stage_ns = dict.fromkeys(STAGES, 0)
    per_event: list[int] = []
    decoded: list[bytes] = []  # the stored state each measured event's decode read, for the baseline
    clock = time.perf_counter_ns
    gc.disable()
    try:
        for index, value in enumerate([*first, *mixed]):
            measured = index >= len(first)
            event: Event = orjson.loads(value)
            t0 = clock()
            raw = store.get(event["contact_id"])
            state: ContactState | None = decode_state(raw) if raw is not None else None
            t1 = clock()
            hints = predictions.first_hints(state, event) if predictions is not None else None
            t2 = clock()
            result = step(state, event, workflows, event["ts"], hints)
            t3 = clock()
            new_state = result.state
            if predictions is not None:
                new_state, _ = predictions.observe(new_state, event, result.actions)
            t4 = clock()
            store[event["contact_id"]] = orjson.dumps(new_state)
            t5 = clock()
            for action in result.actions:
                orjson.dumps(action)
            context = {"event_id": event["event_id"], "event_type": event["type"], "source": f"0:{index}"}
            for seq, record in enumerate(result.trace):  # as the processor's step records
                orjson.dumps({**record, **context, "seq": seq})
            t6 = clock()
            if measured:
                spans = (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5)
                for stage, ns in zip(STAGES, spans, strict=True):
                    stage_ns[stage] += ns
                per_event.append(t6 - t0)
                if raw is not None:
                    decoded.append(raw)
            if index % COLLECT_EVERY == 0:
                gc.collect()
    finally:
        gc.enable()
    return CoreFigures(
        events=len(mixed),
        stage_ns=stage_ns,
        per_event_ns=sorted(per_event),
        baseline_ns=codec_baseline(decoded),
        states=store,
        baseline_bytes=sum(map(len, decoded)),
    )


def codec_baseline(states: Sequence[bytes]) -> int:
    """Nanoseconds to decode and re-encode each of the encoded ``states`` in turn."""
    clock = time.perf_counter_ns
    gc.disable()
    try:
        start = clock()
        for raw in states:
            orjson.dumps(decode_state(raw))
        return clock() - start
    finally:
        gc.enable()


def report(figures: CoreFigures, title: str) -> str:
    us = figures.us_per_event
    total_us = us(figures.total_ns)
    rows: list[list[object]] = [
        [stage, us(ns), f"{100 * ns / figures.total_ns:.0f} %"] for stage, ns in figures.stage_ns.items()
    ]
    rows.append(["total", total_us, "100 %"])
    baseline_us = us(figures.baseline_ns)
    sizes = figures.state_bytes
    return "\n".join(
        [
            title,
            format_table(rows, ["stage", "us/event", "share"]),
            f"core: {1e6 / total_us:,.0f} events/s on one core; per event "
            f"p50 {figures.percentile_us(50):.0f} / p95 {figures.percentile_us(95):.0f} / "
            f"p99 {figures.percentile_us(99):.0f} / "
            f"max {figures.per_event_ns[-1] / 1000:,.0f} us",
            f"baseline (state decode + encode only): {baseline_us:.1f} us/event = "
            f"{1e6 / baseline_us:,.0f} events/s; core/baseline = {total_us / baseline_us:.1f}; "
            f"{figures.baseline_bytes / figures.events:,.0f} bytes of state decoded per event in both",
            f"state bytes per contact: median {statistics.median(sizes):,.0f}, "
            f"p90 {sizes[int(len(sizes) * 0.9)]:,}, max {sizes[-1]:,}",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000, help="events of the mixed stream")
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--ml", choices=("on", "off"), default="on", help="predictive scoring")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    workload = generate_workload(args.events, args.contacts, 0, now_ms=NOW_MS, seed=args.seed)
    workflows = WorkflowSet.from_definitions(definitions())
    with tempfile.TemporaryDirectory() as models_dir:
        predictions = Predictions(Path(models_dir)) if args.ml == "on" else None
        figures = run_core(
            [value for _, value in workload.first_sight], [value for _, value in workload.mixed], workflows,
            predictions,
        )  # fmt: skip
    title = (
        f"core bench: {figures.events:,} mixed events (+{len(workload.first_sight):,} first sights), "
        f"{args.contacts:,} contacts, {len(workflows)} workflows, models {args.ml}"
    )
    print(report(figures, title))


if __name__ == "__main__":
    main()
