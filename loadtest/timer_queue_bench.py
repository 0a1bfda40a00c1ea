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

    .venv/bin/python -m loadtest.timer_queue_bench [--live 1000000] [--moves 2000000] [--seed 7]
"""

from __future__ import annotations

import argparse
import gc
import heapq
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from agents.timer_queue import Timer, TimerQueue
from loadtest.report import format_table

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
    """The replaced design, as agents/timers.py had it."""

    def __init__(self) -> None:
        self.heap: list[Timer] = []
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
        heapq.heappush(self.heap, timer)
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
                if entry.token in self.tokens and entry.token not in kept:
                    kept.add(entry.token)
                    heap.append(entry)
            heapq.heapify(heap)
            self.heap = heap
        return True

    def pop_due(self, now_ms: int) -> Timer | None:
        heap = self.heap
        while heap and heap[0].due <= now_ms:
            timer = heapq.heappop(heap)
            if timer.token in self.tokens:
                self.tokens.discard(timer.token)
                return timer
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
        return self.per_event_ns[min(len(self.per_event_ns) - 1, int(len(self.per_event_ns) * q))] / 1000

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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="loadtest.timer_queue_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--live", type=int, default=1_000_000, help="contacts, each with one wake-up")
    parser.add_argument("--moves", type=int, default=2_000_000, help="events, each moving one wake-up")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if args.live < 1 or args.moves < 1:
        parser.error("--live and --moves must be positive")
    baseline = run("baseline: one compacting heap", CompactingHeap(), args.live, args.moves, args.seed)
    queue = run("timer queue (agents/timer_queue.py)", TimerQueue(START_MS), args.live, args.moves, args.seed)
    if (baseline.fired, baseline.live) != (queue.fired, queue.live):
        print(f"MISMATCH: baseline fired {baseline.fired} with {baseline.live} live, "
              f"the queue {queue.fired} with {queue.live}")  # fmt: skip
        return 1
    print(f"timer queue bench: {args.live:,} live wake-ups, {args.moves:,} events moving them "
          f"(one in ten also sets and ends a 2-minute wait), {queue.fired:,} fired in each")  # fmt: skip
    rows = [
        [f.name, round(f.rate), f.percentile_us(0.5), f.percentile_us(0.99), f.percentile_us(0.999),
         f.per_event_ns[-1] / 1000, f.entries, f.live]
        for f in (baseline, queue)
    ]  # fmt: skip
    header = ["design", "events/s", "p50 us", "p99 us", "p99.9 us", "max us", "entries held", "live"]
    print(format_table(rows, header))
    print(f"queue/baseline: events/s x{queue.rate / baseline.rate:.2f}, "
          f"max stall x{queue.per_event_ns[-1] / baseline.per_event_ns[-1]:.4f}, "
          f"entries held x{queue.entries / baseline.entries:.2f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
