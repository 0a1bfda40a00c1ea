"""Benchmark of the timer service's in-memory queue (agents/timer_queue.py) against the design it replaced,
on the same operations in the same run.

The replaced design (the baseline, kept here only to measure against): one heap; a cancelled timer's entry
stays and is skipped when it comes due; once cancelled entries outnumber live ones (and are at least
10,000), the heap is rebuilt from the live ones in one pass, inside the `cancel` that crossed the line.

Workload, the same for both: ``--live`` contacts each get a model wake-up a week out; then ``--moves``
events, each moving one random contact's wake-up (cancel its token, add a new one a week after the
event, as new activity does) and, for one event in ten, setting a wait two minutes out that the next
event of that contact ends early (cancelled). The clock advances 1 ms per event and due timers are
popped every 20 events (the service ticks every 20 ms). Each event's queue work is timed on its own.

Printed per design: events/s, per-event latency p50 / p99 / p99.9 / max in µs (the max is the longest
the event loop would stall), the entries held at the end (garbage included) against the live timers;
and queue/baseline ratios.

Then the rebuild after a rebalance, from ``--rebuild-timers`` rows in 8 RocksDB partition files (Faust's
options, flushed): the baseline reads them all and fills a queue in one pass, as the service did; then
`TimerService.rebuild` runs on an event loop beside a task that notes how long each of its turns waited.
Printed: the one pass's seconds (its stall), the rebuild's seconds in all and the loop's waits p50 / p99 /
max in ms.

    .venv/bin/python -m loadtest.timer_queue_bench [--live 1000000] [--moves 2000000] [--seed 7]
                                                    [--rebuild-timers 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import heapq
import random
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Protocol

import orjson
from faust.stores.rocksdb import RocksDBOptions

from agents.metrics import Metrics
from agents.timer_queue import Timer, TimerQueue
from agents.timers import TimerService
from loadtest.percentiles import percentile
from loadtest.report import format_table
from tables.direct import DirectTable
from tables.rocksdb_files import DEFAULT_CACHE_MB, PartitionFiles, shared_cache
from tables.timers import TimerStore

START_MS = 1_767_261_600_000
WEEK_MS = 7 * 24 * 3_600_000
WAIT_MS = 2 * 60_000
TICK_EVENTS = 20
BASELINE_COMPACT_AT = 10_000


class Queue(Protocol):
    def add(self, timer: Timer) -> bool: ...
    def cancel(self, due: int, token: str) -> bool: ...
    def pop_due(self, now_ms: int) -> Timer | None: ...
    def __len__(self) -> int: ...
    @property
    def entries(self) -> int: ...


class CompactingHeap:
    """The replaced design, as agents/timers.py had it: plain (due, token, contact, kind) tuples."""

    def __init__(self) -> None:
        self.heap: list[tuple[int, str, str, str]] = []
        self.tokens: set[str] = set()

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def entries(self) -> int:
        return len(self.heap)

    def add(self, timer: Timer) -> bool:
        if timer.token in self.tokens:
            return False
        self.tokens.add(timer.token)
        heapq.heappush(self.heap, (timer.due, timer.token, timer.contact_id, timer.kind))
        return True

    def cancel(self, due: int, token: str) -> bool:
        if token not in self.tokens:
            return False
        self.tokens.discard(token)
        cancelled = len(self.heap) - len(self.tokens)
        if cancelled >= BASELINE_COMPACT_AT and cancelled > len(self.tokens):
            kept: set[str] = set()
            heap = []
            for entry in self.heap:
                if entry[1] in self.tokens and entry[1] not in kept:
                    kept.add(entry[1])
                    heap.append(entry)
            heapq.heapify(heap)
            self.heap = heap
        return True

    def pop_due(self, now_ms: int) -> Timer | None:
        heap = self.heap
        while heap and heap[0][0] <= now_ms:
            due, token, contact_id, kind = heapq.heappop(heap)
            if token in self.tokens:
                self.tokens.discard(token)
                return Timer(due, token, contact_id, kind)
        return None


@dataclass(frozen=True)
class Figures:
    name: str
    events: int
    seconds: float
    per_event_ns: list[int]  # sorted
    fired: int
    live: int
    entries: int

    def percentile_us(self, q: float) -> float:
        return percentile(self.per_event_ns, q) / 1000

    @property
    def rate(self) -> float:
        return self.events / self.seconds


def run(name: str, queue: Queue, live: int, moves: int, seed: int) -> Figures:
    rng = random.Random(seed)
    wakeups = [Timer(START_MS + WEEK_MS + contact, f"ml:c{contact}:0", f"c{contact}", "ml_label")
               for contact in range(live)]  # fmt: skip
    for timer in wakeups:
        queue.add(timer)
    waits: dict[int, Timer] = {}  # contact -> its open wait
    clock = time.perf_counter_ns
    per_event: list[int] = []
    fired = 0
    gc.collect()
    gc.disable()
    try:
        started = clock()
        for event in range(moves):
            now = START_MS + event
            contact = rng.randrange(live)
            moved = Timer(now + WEEK_MS, f"ml:c{contact}:{event + 1}", f"c{contact}", "ml_label")
            wait = (
                Timer(now + WAIT_MS, f"w:c{contact}:{event}", f"c{contact}", "wait")
                if event % 10 == 0
                else None
            )
            ended = wakeups[contact]
            began = clock()
            queue.cancel(ended.due, ended.token)
            queue.add(moved)
            ended_wait = waits.pop(contact, None)
            if ended_wait is not None:
                queue.cancel(ended_wait.due, ended_wait.token)
            if wait is not None:
                queue.add(wait)
            if event % TICK_EVENTS == 0:
                while queue.pop_due(now) is not None:
                    fired += 1
            per_event.append(clock() - began)
            wakeups[contact] = moved
            if wait is not None:
                waits[contact] = wait
        seconds = (clock() - started) / 1e9
    finally:
        gc.enable()
    per_event.sort()
    return Figures(name, moves, seconds, per_event, fired, len(queue), queue.entries)


class NoChangelog:
    """The changelog sink's interface; the rows are written straight into the files here."""

    def add(self, topic: str, key: bytes | None, value: bytes | None, headers: Any = None,
            partition: int | None = None) -> None:  # fmt: skip
        raise AssertionError("the rebuild only reads")

    def on_delivered(self, topic: str, callback: Any) -> None:
        pass


def rebuild_figures(count: int, seed: int, work_dir: Path) -> tuple[float, float, list[float], int]:
    """(one pass s, chunked rebuild s, the loop's waits in s sorted, timers rebuilt) over ``count`` rows."""
    rng = random.Random(seed)
    open_db = PartitionFiles(RocksDBOptions(), shared_cache(DEFAULT_CACHE_MB))  # as the worker opens them
    dbs = {partition: open_db(work_dir / f"p{partition}") for partition in range(8)}
    for index in range(count):
        contact = f"c{index:08d}"
        due = START_MS + rng.randrange(1, 4 * WEEK_MS)
        dbs[index % 8].put(contact.encode(), orjson.dumps([[due, f"ml:{contact}", "ml_label"]]))
    for db in dbs.values():
        db.flush(wait=True)
    data = SimpleNamespace(_dbs=dbs, offset_key=b"__faust\0offset__")
    topic = SimpleNamespace(get_topic_name=lambda: "timers-changelog")
    store = TimerStore(DirectTable(None, SimpleNamespace(data=data, changelog_topic=topic), NoChangelog()))
    started = time.perf_counter()
    queue = TimerQueue(START_MS)
    for rows in store.scan(count + 1):
        for partition, contact_id, due, token, kind in rows:
            queue.add(Timer(due, token, contact_id, kind, partition))
    one_pass = time.perf_counter() - started
    del queue
    app = SimpleNamespace(on_rebalance_complete=SimpleNamespace(connect=lambda receiver: None))
    service = TimerService(app, store, "events", Metrics(), clock=lambda: START_MS / 1000)

    async def measured() -> tuple[float, list[float], int]:
        waits: list[float] = []
        rebuilding = asyncio.ensure_future(service.rebuild())
        began = last = time.perf_counter()
        while not rebuilding.done():
            await asyncio.sleep(0)
            now = time.perf_counter()
            waits.append(now - last)
            last = now
        return time.perf_counter() - began, sorted(waits), await rebuilding

    chunked, waits, rebuilt = asyncio.run(measured())
    return one_pass, chunked, waits, rebuilt


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="loadtest.timer_queue_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--live", type=int, default=1_000_000, help="contacts, each with one wake-up")
    parser.add_argument("--moves", type=int, default=2_000_000, help="events, each moving one wake-up")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rebuild-timers", type=int, default=1_000_000, help="timer rows to rebuild from")
    args = parser.parse_args(argv)
    if args.live < 1 or args.moves < 1 or args.rebuild_timers < 1:
        parser.error("--live, --moves and --rebuild-timers must be positive")
    baseline = run("baseline: one compacting heap", CompactingHeap(), args.live, args.moves, args.seed)
    queue = run("timer queue (agents/timer_queue.py)", TimerQueue(START_MS), args.live, args.moves, args.seed)
    if (baseline.fired, baseline.live) != (queue.fired, queue.live):
        print(f"MISMATCH: baseline fired {baseline.fired} with {baseline.live} live, "
              f"the queue {queue.fired} with {queue.live}")  # fmt: skip
        return 1
    print(f"timer queue bench: {args.live:,} live wake-ups, {args.moves:,} events moving them "
          f"(one in ten also sets and ends a 2-minute wait), {queue.fired:,} fired in each")  # fmt: skip
    rows = [
        [f.name, round(f.rate), f.percentile_us(50), f.percentile_us(99), f.percentile_us(99.9),
         f.per_event_ns[-1] / 1000, f.entries, f.live]
        for f in (baseline, queue)
    ]  # fmt: skip
    header = ["design", "events/s", "p50 us", "p99 us", "p99.9 us", "max us", "entries held", "live"]
    print(format_table(rows, header))
    print(f"queue/baseline: events/s x{queue.rate / baseline.rate:.2f}, "
          f"max stall x{queue.per_event_ns[-1] / baseline.per_event_ns[-1]:.4f}, "
          f"entries held x{queue.entries / baseline.entries:.2f}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="timer-rebuild-") as work_dir:
        one_pass, chunked, waits, rebuilt = rebuild_figures(args.rebuild_timers, args.seed, Path(work_dir))
    if rebuilt != args.rebuild_timers:
        print(f"MISMATCH: rebuilt {rebuilt:,} of {args.rebuild_timers:,} timers")
        return 1

    def ms(wait: float) -> str:
        return f"{wait * 1000:,.1f}"

    p50, p99, worst = ms(waits[len(waits) // 2]), ms(waits[int(len(waits) * 0.99)]), ms(waits[-1])
    print(f"rebuild of {rebuilt:,} timers from 8 partition files: one pass (the baseline) {one_pass:.2f} s "
          f"on the loop; in slices {chunked:.2f} s in all, the loop waited p50 {p50} / p99 {p99} / "
          f"max {worst} ms over {len(waits):,} turns; longest stall x{waits[-1] / one_pass:.4f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
