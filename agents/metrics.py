"""Worker metrics, served in the Prometheus text format on the worker's web port (`/metrics`).

Counters only ever grow; gauges are set by their owners; rates and percentiles are computed over a short
sliding window so a person reading `/metrics` by hand sees current figures too.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


class Window:
    """Values observed in the last `span_s` seconds."""

    def __init__(self, span_s: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.span_s = span_s
        self.clock = clock
        self.items: deque[tuple[float, float]] = deque()

    def add(self, value: float) -> None:
        now = self.clock()
        self.items.append((now, value))
        self._trim(now)

    def _trim(self, now: float) -> None:
        while self.items and self.items[0][0] < now - self.span_s:
            self.items.popleft()

    def values(self) -> list[float]:
        self._trim(self.clock())
        return sorted(v for _, v in self.items)

    def total_per_second(self) -> float:
        return sum(self.values()) / self.span_s


class Metrics:
    def __init__(self) -> None:
        self.events_total = 0
        self.applied_total = 0
        self.replayed_total = 0
        self.batches_total = 0
        self.dead_letters: dict[str, int] = {}
        self.actions: dict[str, int] = {}
        self.step_records_total = 0
        self.predictions_total = 0
        self.timers_pending = 0
        self.timers_overdue = 0
        self.timers_fired_total = 0
        self.batch_sizes = Window()
        self.event_rate = Window()
        self.timer_lateness_ms = Window(span_s=300.0)
        self.lag: dict[int, int] = {}
        self.stale_discarded_total = 0  # fetched records discarded because their partition was sought

    def observe_batch(self, size: int) -> None:
        self.batches_total += 1
        self.events_total += size
        self.batch_sizes.add(size)
        self.event_rate.add(size)

    def observe_dead_letter(self, reason: str) -> None:
        self.dead_letters[reason] = self.dead_letters.get(reason, 0) + 1

    def observe_action(self, channel: str) -> None:
        self.actions[channel] = self.actions.get(channel, 0) + 1

    def observe_timer_fired(self, lateness_ms: int) -> None:
        self.timers_fired_total += 1
        self.timer_lateness_ms.add(float(lateness_ms))

    def render(self) -> str:
        lines: list[str] = []

        def metric(name: str, kind: str, help_text: str, samples: list[tuple[str, float]]) -> None:
            lines.append(f"# HELP switchyard_{name} {help_text}")
            lines.append(f"# TYPE switchyard_{name} {kind}")
            for labels, value in samples:
                lines.append(f"switchyard_{name}{labels} {value:g}")

        sizes = self.batch_sizes.values()
        lateness = self.timer_lateness_ms.values()
        metric("events_total", "counter", "Events taken from the events topic.", [("", self.events_total)])
        metric(
            "events_applied_total", "counter", "Events applied to contact state.", [("", self.applied_total)]
        )
        metric("events_replayed_total", "counter", "Re-delivered events skipped by offset.",
               [("", self.replayed_total)])  # fmt: skip
        metric("events_per_second", "gauge", "Events per second over the last 10 s.",
               [("", self.event_rate.total_per_second())])  # fmt: skip
        metric("batches_total", "counter", "Batches processed.", [("", self.batches_total)])
        metric(
            "batch_size",
            "summary",
            "Events per batch over the last 10 s.",
            [('{quantile="0.5"}', percentile(sizes, 0.5)), ('{quantile="0.99"}', percentile(sizes, 0.99))],
        )
        metric(
            "dead_letters_total",
            "counter",
            "Events sent to the dead-letter topic, by reason.",
            [(f'{{reason="{r}"}}', n) for r, n in sorted(self.dead_letters.items())] or [("", 0)],
        )
        metric(
            "actions_total",
            "counter",
            "Actions produced, by channel.",
            [(f'{{channel="{c}"}}', n) for c, n in sorted(self.actions.items())] or [("", 0)],
        )
        metric(
            "step_records_total",
            "counter",
            "Step records produced to analytics.",
            [("", self.step_records_total)],
        )
        metric(
            "timers_pending", "gauge", "Timers waiting in this worker's heap.", [("", self.timers_pending)]
        )
        metric(
            "timers_overdue", "gauge", "Timers that were due at the last tick.", [("", self.timers_overdue)]
        )
        metric("timers_fired_total", "counter", "Wake-ups produced.", [("", self.timers_fired_total)])
        metric("timer_lateness_ms", "summary", "How late wake-ups fired, last 5 min.",
               [('{quantile="0.5"}', percentile(lateness, 0.5)),
                ('{quantile="0.99"}', percentile(lateness, 0.99)),
                ('{quantile="1"}', lateness[-1] if lateness else 0.0)])  # fmt: skip
        metric("consumer_stale_records_total", "counter",
               "Fetched records discarded because a seek of their partition came after the fetch.",
               [("", self.stale_discarded_total)])  # fmt: skip
        metric(
            "consumer_lag",
            "gauge",
            "Records not yet processed, by events partition.",
            [(f'{{partition="{p}"}}', n) for p, n in sorted(self.lag.items())] or [("", 0)],
        )
        return "\n".join(lines) + "\n"
