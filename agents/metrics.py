"""Worker metrics, served in the Prometheus text format on the worker's web port (`/metrics`).

The owners (processor, timer service) keep plain Python integers on a `Metrics` object, which costs
nothing per event; a prometheus_client collector reads them at scrape time into the worker's own
CollectorRegistry, and `generate_latest` writes the text, so counters stay exact however large they grow.
Rates and percentiles are computed over a short sliding window so a person reading `/metrics` by hand
sees current figures too.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

# The text format generate_latest writes; no charset in it (aiohttp adds that itself).
CONTENT_TYPE = "text/plain; version=0.0.4"


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
        self.processing_errors: dict[str, int] = {}
        self.batch_retries_total = 0  # batches processed again because a record was not delivered
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
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_Exporter(self))

    def observe_batch(self, size: int) -> None:
        self.batches_total += 1
        self.events_total += size
        self.batch_sizes.add(size)
        self.event_rate.add(size)

    def observe_dead_letter(self, reason: str) -> None:
        self.dead_letters[reason] = self.dead_letters.get(reason, 0) + 1

    def observe_processing_error(self, reason: str) -> None:
        """A contact's events failed in processing (not in decoding); they are dead-lettered too."""
        self.processing_errors[reason] = self.processing_errors.get(reason, 0) + 1

    def observe_action(self, channel: str) -> None:
        self.actions[channel] = self.actions.get(channel, 0) + 1

    def observe_timer_fired(self, lateness_ms: int) -> None:
        self.timers_fired_total += 1
        self.timer_lateness_ms.add(float(lateness_ms))

    def render(self) -> str:
        """The Prometheus text exposition (content type `CONTENT_TYPE`)."""
        return generate_latest(self.registry).decode()


class _Exporter(Collector):
    """Reads a Metrics object's current figures into metric families, at every scrape."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        m = self.metrics
        yield _counter("events", "Events taken from the events topic.", m.events_total)
        yield _counter("events_applied", "Events applied to contact state.", m.applied_total)
        yield _counter("events_replayed", "Re-delivered events skipped by offset.", m.replayed_total)
        yield _gauge(
            "events_per_second", "Events per second over the last 10 s.", m.event_rate.total_per_second()
        )
        yield _counter("batches", "Batches processed.", m.batches_total)
        yield _counter(
            "batch_retries", "Batches processed again because one of their records was not delivered.",
            m.batch_retries_total,
        )  # fmt: skip
        yield _quantiles(
            "batch_size", "Events per batch over the last 10 s.", m.batch_sizes.values(), (0.5, 0.99)
        )
        yield _by_label(
            CounterMetricFamily, "dead_letters", "Events sent to the dead-letter topic, by reason.", "reason",
            m.dead_letters,
        )  # fmt: skip
        yield _by_label(
            CounterMetricFamily, "processing_errors",
            "Contacts' events that failed in processing (engine, scoring, state, records), by reason.",
            "reason", m.processing_errors,
        )  # fmt: skip
        yield _by_label(CounterMetricFamily, "actions", "Actions produced, by channel.", "channel", m.actions)
        yield _counter("step_records", "Step records produced to analytics.", m.step_records_total)
        yield _counter("predictions", "Predicted events produced by the models.", m.predictions_total)
        yield _gauge(
            "timers_pending",
            "Live timers waiting in this worker (cancelled ones not counted).",
            m.timers_pending,
        )
        yield _gauge("timers_overdue", "Timers that were due at the last tick.", m.timers_overdue)
        yield _counter("timers_fired", "Wake-ups produced.", m.timers_fired_total)
        yield _quantiles(
            "timer_lateness_ms",
            "How late wake-ups fired, last 5 min.",
            m.timer_lateness_ms.values(),
            (0.5, 0.99, 1.0),
        )
        yield _counter(
            "consumer_stale_records",
            "Fetched records discarded because a seek of their partition came after the fetch.",
            m.stale_discarded_total,
        )
        lag = {str(p): n for p, n in sorted(m.lag.items())}
        yield _by_label(GaugeMetricFamily, "consumer_lag", "Records not yet processed, by events partition.",
                        "partition", lag)  # fmt: skip


def _counter(name: str, help_text: str, value: int) -> CounterMetricFamily:
    return CounterMetricFamily(f"switchyard_{name}", help_text, value=value)


def _gauge(name: str, help_text: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"switchyard_{name}", help_text, value=value)


def _by_label(
    kind: type[CounterMetricFamily] | type[GaugeMetricFamily], name: str, help_text: str, label: str,
    values: dict[str, int],
) -> Metric:  # fmt: skip
    family = kind(f"switchyard_{name}", help_text, labels=[label])
    for key, value in sorted(values.items()):
        family.add_metric([key], value)
    return family


def _quantiles(name: str, help_text: str, sorted_values: list[float], qs: tuple[float, ...]) -> Metric:
    family = Metric(f"switchyard_{name}", help_text, "summary")
    for q in qs:
        value = sorted_values[-1] if q == 1.0 and sorted_values else percentile(sorted_values, q)
        family.add_sample(f"switchyard_{name}", {"quantile": f"{q:g}"}, value)
    return family
