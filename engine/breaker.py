"""The circuit breaker: notices a workflow whose entries or actions jump far above their recent rate.

Loops and runaway triggers (a workflow that reacts to its own outcomes, a producer replaying a day of
events) show as a sudden jump in how many runs a workflow starts, or actions it sends, per minute. The
per-contact run limit (settings.max_runs) bounds each contact; the breaker bounds the workflow as a whole.

Counts are per workflow, per kind ("entries", "actions") and per event-time window (`window_ms`, a
minute by default). Only steps caused by incoming events count: wake-ups (waits, schedules, dates) are
planned work, and a campaign scheduled for 09:00 is not a loop. A window trips the breaker when its count
reaches `floor` and is more than `factor` times the mean of the `history` windows before it (of the
windows since the workflow was first seen, while it has fewer). A workflow is judged only once it has
been seen for `min_history` windows: a worker that just started (or restarted) has no recent rate to
compare with, and a start-up backlog is not a jump.
The caller (agents/processor.py) pauses the tripped workflow through the catalog, notifies, and records
why.

Pure: event time only, no clock, no I/O. Memory is bounded by `history` windows per workflow and kind.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from engine.durations import format_duration
from engine.types import Event

KINDS = ("entries", "actions")


@dataclass(frozen=True, slots=True)
class BreakerSettings:
    window_ms: int = 60_000
    history: int = 30  # windows whose mean is the "recent rate"
    factor: float = 10.0
    floor: int = 500  # a window below this never trips, whatever its history
    min_history: int = 5  # windows seen before a workflow is judged at all


@dataclass(frozen=True, slots=True)
class Trip:
    workflow_id: str
    kind: str
    window_start: int
    count: int
    recent_per_window: float
    settings: BreakerSettings

    @property
    def reason(self) -> str:
        width = format_duration(self.settings.window_ms)
        span = format_duration(self.settings.window_ms * self.settings.history)
        return (
            f"circuit breaker: {self.count} {self.kind} in {width} against {self.recent_per_window:.1f} "
            f"per {width} over the previous {span} (over {self.settings.factor:g}x and at least "
            f"{self.settings.floor}); paused"
        )


@dataclass
class CircuitBreaker:
    settings: BreakerSettings = field(default_factory=BreakerSettings)
    counts: dict[tuple[str, str], dict[int, int]] = field(default_factory=dict)
    first: dict[tuple[str, str], int] = field(default_factory=dict)  # the first window seen
    tripped: dict[str, Trip] = field(default_factory=dict)

    def observe(self, workflow_id: str, kind: str, ts: int, n: int = 1) -> Trip | None:
        """Count ``n`` entries or actions of ``workflow_id`` at event time ``ts``; the trip, once."""
        if workflow_id in self.tripped:
            return None
        windows = self.counts.setdefault((workflow_id, kind), {})
        current = ts // self.settings.window_ms
        first = self.first.setdefault((workflow_id, kind), current)
        windows[current] = windows.get(current, 0) + n
        if len(windows) > self.settings.history + 1:
            oldest = current - self.settings.history
            for index in [w for w in windows if w < oldest]:
                del windows[index]
        count = windows[current]
        if count < self.settings.floor:
            return None
        if current - first < self.settings.min_history:
            return None
        history = min(self.settings.history, current - first)
        recent = sum(windows.get(current - back, 0) for back in range(1, history + 1)) / max(1, history)
        if count <= self.settings.factor * recent:
            return None
        trip = Trip(workflow_id, kind, current * self.settings.window_ms, count, recent, self.settings)
        self.tripped[workflow_id] = trip
        return trip

    def observe_step(self, event: Event, trace: Iterable[dict[str, Any]],
                     actions: Iterable[dict[str, Any]]) -> list[Trip]:  # fmt: skip
        """Feed one step's outcome (engine.step.StepResult's trace and actions); the new trips."""
        if event["type"] == "timer.fired":
            return []
        ts = event["ts"]
        trips = []
        for entry in trace:
            if entry["transition"] == "entered" and entry["workflow_id"] is not None:
                trips.append(self.observe(entry["workflow_id"], "entries", ts))
        for action in actions:
            trips.append(self.observe(action["workflow_id"], "actions", ts))
        return [trip for trip in trips if trip is not None]

    def reset(self, workflow_id: str) -> None:
        """Forget a workflow's trip and history (it was resumed: count afresh)."""
        self.tripped.pop(workflow_id, None)
        for kind in KINDS:
            self.counts.pop((workflow_id, kind), None)
            self.first.pop((workflow_id, kind), None)
