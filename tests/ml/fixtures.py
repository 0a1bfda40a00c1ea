"""Shared helpers for the ml tests: events, folding a contact, scripted models, a small generated stream
with its online run (built once per session; the stream is deterministic)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache

from engine.profile import apply_event
from engine.types import Event, Profile
from loadtest.generator import StreamSpec, Traffic, generate
from loadtest.ml_experiments import OnlineRun, run_online
from ml.clock import DAY_MS, HOUR_MS
from ml.models import ModelSet
from ml.state import MLState, absorb
from tests.engine.fixtures import make_event

T0 = 1_767_261_600_000  # 2026-01-01T10:00:00Z, a Thursday
DAY = DAY_MS
HOUR = HOUR_MS
# a modest real-time stream: 1,000 contacts over 90 days (~5 s to generate and replay)
SMALL_STREAM = StreamSpec.real_time(contacts=1000, events=30_000, days=90, start_ms=T0, seed=5)
__all__ = [
    "DAY",
    "HOUR",
    "SMALL_STREAM",
    "T0",
    "ScriptedModels",
    "fold",
    "make_event",
    "small_run",
    "small_traffic",
]


def fold(events: Iterable[Event], timezone: str = "UTC") -> tuple[Profile | None, MLState | None]:
    """Profile and ml-state after ``events`` (no scoring)."""
    profile: Profile | None = None
    state: MLState | None = None
    for event in events:
        profile = apply_event(profile, event)
        state = absorb(state, event, timezone)
    return profile, state


class ScriptedModels(ModelSet):
    """A ModelSet whose scores come from a script (churn, convert) per call, and that counts as trained."""

    def __init__(self, script: Sequence[tuple[float, float]], learned: int = 10_000) -> None:
        super().__init__()
        self.script = list(script)
        self.calls = 0
        self.learned = dict.fromkeys(self.learned, learned)

    def score_vector(self, vector: list[float]) -> tuple[float, float]:
        value = self.script[min(self.calls, len(self.script) - 1)]
        self.calls += 1
        return value


@lru_cache(maxsize=1)
def small_traffic() -> Traffic:
    return generate(SMALL_STREAM)


@lru_cache(maxsize=1)
def small_run() -> OnlineRun:
    """The small stream through a fresh logreg Scorer (callers must not mutate what it holds)."""
    return run_online(small_traffic().events)
