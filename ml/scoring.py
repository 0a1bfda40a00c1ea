"""Predictive triggers: the per-event integration point the processor calls next to ``engine.step``.

``Scorer.observe(ml_state, profile, event, now)`` folds the event into the contact's ml-state, resolves
late labels (and lets the models learn from them), scores the contact, keeps a feature snapshot for
later labels, and returns ``predicted.<name>`` events when a score crosses its threshold:

- upward (``direction: "up"``) when the score reaches ``threshold`` while the trigger is armed; it is
  then disarmed, so a contact hovering at the line fires once;
- downward (``direction: "down"``) when the score falls below ``threshold - margin``: the trigger re-arms
  and the profile's ``scores.<name>`` (set by the engine from these events) drops below the line, so
  the engine's own score trigger sees the next rise as a crossing.

No event is emitted while a model has learned from fewer than ``min_learned`` labels (an untrained
model's 0.5 would make every contact cross at once). Contacts are scored on their own activity and on
their ml wake-ups (``timer.fired`` with ``kind: "ml_label"``), which also come every ``rescore_every_ms``
of silence (for ``rescore_for_ms``) so a churn risk can rise without events; wake-ups sit on a
per-contact slot of a daily grid, so a contact wakes at most once a day for ml. Synchronous and cheap;
the models are the only mutable part (they learn in place).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from hashlib import blake2b
from typing import Any

from engine.types import Event, Profile
from ml import labels
from ml.activity import TIMER_EVENT, is_activity
from ml.clock import DAY_MS, hour_of_week, timezone_of
from ml.exceptions import MLConfigError
from ml.features import as_features, feature_vector
from ml.labels import CHURN, CONVERT, ML_TIMER_KIND, MODEL_NAMES, LabelConfig, Resolved
from ml.models import ModelSet
from ml.send_time import engagement_weight
from ml.state import MLState, absorb, new_ml_state

LabelObserver = Callable[[str, Resolved], None]  # (contact id, resolved label)


@dataclass(frozen=True)
class Threshold:
    """Fire at ``at`` upward; re-arm below ``at - margin``."""

    at: float
    margin: float = 0.1

    def __post_init__(self) -> None:
        if not 0.0 < self.at <= 1.0 or not 0.0 <= self.margin < self.at:
            raise MLConfigError(f"threshold {self.at} with margin {self.margin} is not usable")


def _default_thresholds() -> dict[str, Threshold]:
    return {CHURN: Threshold(0.7, 0.1), CONVERT: Threshold(0.4, 0.1)}


@dataclass(frozen=True)
class ScorerConfig:
    thresholds: dict[str, Threshold] = field(default_factory=_default_thresholds)
    labels: LabelConfig = field(default_factory=LabelConfig)
    min_learned: int = 200
    rescore_every_ms: int = 7 * DAY_MS
    rescore_for_ms: int = 28 * DAY_MS  # stop waking a silent contact to re-score it after this long
    wakeup_grid_ms: int = DAY_MS  # wake-ups are rounded up to a per-contact slot of this grid
    learn: bool = True  # False: score only (e.g. a shadow replay)

    def __post_init__(self) -> None:
        if set(self.thresholds) != set(MODEL_NAMES):
            raise MLConfigError(f"thresholds must name exactly {', '.join(MODEL_NAMES)}")
        if self.rescore_every_ms <= 0 or self.wakeup_grid_ms <= 0 or self.min_learned < 0:
            raise MLConfigError("rescore and grid periods must be positive and min_learned not negative")


class Scorer:
    """Scores contacts with one worker's ``ModelSet`` and turns threshold crossings into events."""

    def __init__(
        self,
        models: ModelSet | None = None,
        config: ScorerConfig | None = None,
        on_label: LabelObserver | None = None,
    ) -> None:
        self.models = models if models is not None else ModelSet()
        self.config = config if config is not None else ScorerConfig()
        self.on_label = on_label

    def observe(
        self, ml_state: MLState | None, profile: Profile, event: Event, now: int
    ) -> tuple[MLState, list[Event], list[dict[str, Any]]]:
        """(new ml-state, predicted events, timer requests) after ``event``; ``profile`` is the profile
        after the event (engine.profile.apply_event), ``now`` the event time."""
        state = ml_state if ml_state is not None else new_ml_state()
        etype = event["type"]
        if etype == TIMER_EVENT:
            if event["properties"].get("kind") != ML_TIMER_KIND:
                return state, [], []
        elif not is_activity(etype):
            return state, [], []
        config = self.config
        state, resolved = labels.resolve(state, event, now, config.labels)
        if resolved:
            self._learn(event["contact_id"], resolved)
        timezone = timezone_of(profile["attrs"])
        if etype != TIMER_EVENT:
            state = absorb(state, event, timezone)
            hour = hour_of_week(event["ts"], timezone)
            self.models.prior.record(hour, engagement_weight(etype), event["ts"])
        vector = feature_vector(profile, state, now)
        scores = self.models.score_vector(vector)
        state = {**state, "sc": {CHURN: scores[0], CONVERT: scores[1]}}
        state, predicted = self._crossings(state, event, now, scores)
        state = labels.take_snapshot(state, now, vector, scores, config.labels)
        contact = event["contact_id"]
        state, timers = labels.schedule(state, contact, self._next_wakeup(state, contact, now))
        return state, predicted, timers

    def _learn(self, contact_id: str, resolved: list[Resolved]) -> None:
        for item in resolved:
            if self.config.learn:
                self.models.learn(item.model, as_features(item.vector), item.label)
            if self.on_label is not None:
                self.on_label(contact_id, item)

    def _crossings(
        self, state: MLState, event: Event, now: int, scores: tuple[float, float]
    ) -> tuple[MLState, list[Event]]:
        armed: dict[str, bool] = state.get("arm") or {}
        changed: dict[str, bool] = {}
        out: list[Event] = []
        for name, score in zip(MODEL_NAMES, scores, strict=True):
            if self.models.learned[name] < self.config.min_learned:
                continue
            threshold = self.config.thresholds[name]
            is_armed = armed.get(name, True)
            if is_armed and score >= threshold.at:
                changed[name] = False
                out.append(self._predicted(event, name, score, threshold, "up", now))
            elif not is_armed and score < threshold.at - threshold.margin:
                changed[name] = True
                out.append(self._predicted(event, name, score, threshold, "down", now))
        if not changed:
            return state, out
        return {**state, "arm": {**armed, **changed}}, out

    def _predicted(
        self, cause: Event, name: str, score: float, threshold: Threshold, direction: str, now: int
    ) -> Event:
        raw = "\x1f".join(("predicted", cause["contact_id"], name, cause["event_id"], direction)).encode()
        return {
            "event_id": "pred-" + blake2b(raw, digest_size=12).hexdigest(),
            "contact_id": cause["contact_id"],
            "type": f"predicted.{name}",
            "ts": now,
            "properties": {
                "score": round(score, 6),
                "threshold": threshold.at,
                "direction": direction,
                "model": self.models.kind,
                "learned": self.models.learned[name],
                "cause": cause["event_id"],
            },
        }

    def _next_wakeup(self, state: MLState, contact_id: str, now: int) -> int | None:
        """The next ml wake-up: the first label window to close or the next re-score of a silent
        contact, rounded up to the contact's slot on the wake-up grid (at most one wake-up per contact
        per grid period; contacts are spread over the period so they do not all wake at once)."""
        config = self.config
        due = labels.next_label_due(state, config.labels)
        last = state["la"]
        if last:
            periods = (now - last) // config.rescore_every_ms + 1
            rescore = last + periods * config.rescore_every_ms
            if rescore - last <= config.rescore_for_ms:
                due = rescore if due is None else min(due, rescore)
        if due is None:
            return None
        grid = config.wakeup_grid_ms
        slot = int.from_bytes(blake2b(contact_id.encode(), digest_size=4).digest(), "big") % grid
        return due + (slot - due) % grid
