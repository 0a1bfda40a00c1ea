"""Plain judgements on a load-test run's figures (pure): does the system keep up with the offered rate,
and the rows of the summary table.

Keeping up is judged on the seconds in which the producer was sending, second half only (the start
carries the worker's warm-up): the least-squares slope of the consumer lag. The lag is read from
committed offsets, which move about once a second, so it saws by up to a second or two of input; a
system does not keep up when its backlog grows by more than ``GROWTH_SHARE`` of the offered rate per
second *and* the last quarter of the window holds more than ``BACKLOG_SECONDS`` of input. The rate it
did sustain in those seconds is then the plain rate at which it stops keeping up.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from loadtest.kafka_bench import LatencySummary
from loadtest.report import Sample, lag_slope

GROWTH_SHARE = 0.05  # of the offered rate, per second
BACKLOG_SECONDS = 3.0  # of offered input, on average over the last quarter of the window
MIN_GROWTH = 10.0  # messages/s: below this a slope is commit-interval noise at any rate


@dataclass(frozen=True)
class KeepUp:
    keeps_up: bool
    offered_eps: float
    sustained_eps: float  # events processed per second over the judged seconds
    lag_slope_per_s: float
    max_lag: int
    statement: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def keep_up(window: Sequence[Sample], offered_eps: float) -> KeepUp:
    """Judge the samples of the producing window (in time order)."""
    half = list(window[len(window) // 2 :])
    if len(half) < 2:
        return KeepUp(True, offered_eps, math.nan, 0.0, 0, "too short a run to judge whether it keeps up")
    slope = lag_slope(half)
    span = half[-1].t - half[0].t
    processed = sum(s.processed for s in half[1:])  # each sample counts the second before it
    sustained = processed / span if span > 0 else math.nan
    max_lag = max(s.lag for s in window)
    threshold = max(MIN_GROWTH, GROWTH_SHARE * offered_eps)
    tail = window[-max(1, len(window) // 4) :]
    backlog = sum(s.lag for s in tail) / len(tail)
    if slope <= threshold or backlog <= BACKLOG_SECONDS * offered_eps:
        statement = (
            f"keeps up at {offered_eps:,.0f} ev/s: lag slope {slope:+,.1f} msg/s over the second half "
            f"(growth threshold {threshold:,.0f}), lag in the last quarter {backlog:,.0f} on average, "
            f"max lag {max_lag:,}"
        )
        return KeepUp(True, offered_eps, sustained, slope, max_lag, statement)
    if sustained >= offered_eps:
        statement = (
            f"lag grew {slope:,.0f} msg/s over the second half while the worker processed {sustained:,.0f} "
            f"ev/s, at least the offered {offered_eps:,.0f}: a backlog left by pauses (restarts, other "
            "load), not a rate it cannot sustain"
        )
        return KeepUp(False, offered_eps, sustained, slope, max_lag, statement)
    statement = (
        f"does NOT keep up at {offered_eps:,.0f} ev/s: the backlog grows {slope:,.0f} msg/s over the "
        f"second half; it sustained {sustained:,.0f} ev/s, so it stops keeping up at about "
        f"{sustained:,.0f} ev/s on this machine"
    )
    return KeepUp(False, offered_eps, sustained, slope, max_lag, statement)


def latency_row(name: str, lat: LatencySummary) -> list[object]:
    return [name, lat.count, lat.p50_ms, lat.p95_ms, lat.p99_ms, lat.max_ms]


def summary_rows(figures: Mapping[str, object]) -> list[tuple[str, object]]:
    """(metric, value) rows in a fixed order, skipping what a mode does not have."""
    return [(name, value) for name, value in figures.items() if value is not None]
