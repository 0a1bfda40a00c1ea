"""Predictive triggers: the per-event integration point the processor calls next to ``engine.step``.

``Scorer.observe(ml_state, profile, event, now, actions)`` folds the event into the contact's ml-state,
resolves late labels (and lets the models learn from them), scores the contact, keeps a feature snapshot
for later labels, and returns ``predicted.<name>`` events when a score crosses its threshold:

- upward (``direction: "up"``) when the score reaches ``threshold`` while the trigger is armed; it is
  then disarmed, so a contact hovering at the line fires once;
- downward (``direction: "down"``) when the score falls below ``threshold - margin``: the trigger re-arms
  and the profile's ``scores.<name>`` (set by the engine from these events) drops below the line, so
  the engine's own score trigger sees the next rise as a crossing.

No event is emitted while a model has learned from fewer than ``min_learned`` labels (an untrained
model's 0.5 would make every contact cross at once). Contacts are scored on their own activity and on
their ml wake-ups (``timer.fired`` with ``kind: "ml_label"``), which also come every ``rescore_every_ms``
of silence (for ``rescore_for_ms``) so a churn risk can rise without events; wake-ups sit on a
per-contact slot of a daily grid, so a contact wakes at most once a day for ml.

The sends among the step's ``actions`` open channel trials that outcome events reward and that close
into bandit updates (ml.trials); a trial's window end is one more reason for the wake-up, which then
only closes trials (it does not re-score, so sends do not change when labels are sampled).
``observe_with_hints`` also keeps the contact's ``hints`` (ml.hints) and returns an ``Observation``.

Synchronous; the models, the prior and the bandit are the only mutable part (they learn in place).
Per event it is written for speed: the ml-state is copied once and then changed in place, work that
cannot change anything is skipped (unscored events, untrained models' crossings, unchanged hints).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from hashlib import blake2b
from typing import Any, NamedTuple

from engine.profile import apply_event
from engine.types import Event, Profile
from ml import labels, trials
from ml.activity import TIMER_EVENT, is_activity
from ml.bandit import segment_of
from ml.clock import DAY_MS, hour_of_week, timezone_of
from ml.exceptions import MLConfigError
from ml.features import as_features, feature_vector
from ml.hints import Hinter, Hints
from ml.labels import CHURN, CONVERT, MODEL_NAMES, LabelConfig, Resolved
from ml.models import ModelSet
from ml.send_time import engagement_weight
from ml.state import MLState, absorb, new_ml_state
from ml.trials import Closed, TrialConfig

LabelObserver = Callable[[str, Resolved], None]  # (contact id, resolved label)
TrialObserver = Callable[[str, Closed], None]  # (contact id, closed channel trial)


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
    learn: bool = True  # False: score only, the bandit too (e.g. a shadow replay)
    trials: TrialConfig = field(default_factory=TrialConfig)

    def __post_init__(self) -> None:
        if set(self.thresholds) != set(MODEL_NAMES):
            raise MLConfigError(f"thresholds must name exactly {', '.join(MODEL_NAMES)}")
        if self.rescore_every_ms <= 0 or self.wakeup_grid_ms <= 0 or self.min_learned < 0:
            raise MLConfigError("rescore and grid periods must be positive and min_learned not negative")


class Observation(NamedTuple):
    """What one event did to a contact: its ml-state, predicted events, timer requests and hints."""

    ml_state: MLState
    predicted: list[Event]
    timers: list[dict[str, Any]]
    hints: Hints | None  # the contact's hints (the object given when unchanged); None when not kept


class Scorer:
    """Scores contacts with one worker's ``ModelSet`` and turns threshold crossings into events."""

    def __init__(
        self,
        models: ModelSet | None = None,
        config: ScorerConfig | None = None,
        on_label: LabelObserver | None = None,
        on_trial: TrialObserver | None = None,
    ) -> None:
        self.models = models if models is not None else ModelSet()
        self.config = config if config is not None else ScorerConfig()
        self.on_label = on_label
        self.on_trial = on_trial
        # False while the caller processes again events the models have already learned from (a batch
        # redone after a failed delivery): scores and hints are computed as usual, but labels, rewards and
        # send hours are not counted twice.
        self.learning = True
        # What the models would learn, held between `hold` and `release` (see there).
        self._held: list[tuple[Callable[..., Any], tuple[Any, ...]]] | None = None
        self._hinter = Hinter(self.models.prior, self.models.bandit)

    def observe(
        self,
        ml_state: MLState | None,
        profile: Profile,
        event: Event,
        now: int,
        actions: Sequence[dict[str, Any]] = (),
    ) -> tuple[MLState, list[Event], list[dict[str, Any]]]:
        """(new ml-state, predicted events, timer requests) after ``event``; ``profile`` is the profile
        after the event (engine.profile.apply_event), ``now`` the event time, ``actions`` what the
        engine's step emitted for it (sends open channel trials, ml.trials)."""
        result = self._observe(ml_state, profile, event, now, actions, None, False)
        return result.ml_state, result.predicted, result.timers

    def observe_with_hints(
        self,
        ml_state: MLState | None,
        profile: Profile,
        event: Event,
        now: int,
        actions: Sequence[dict[str, Any]] = (),
        hints: Hints | None = None,
    ) -> Observation:
        """``observe``, also keeping the contact's ``hints`` (ml.hints) up to date."""
        return self._observe(ml_state, profile, event, now, actions, hints, True)

    def first_hints(
        self, ml_state: MLState | None, profile: Profile | None, hints: Hints | None, event: Event
    ) -> Hints | None:
        """The hints for the engine's step of ``event`` when the contact has none yet (its first event:
        hints are otherwise kept only after a step), else None (the step reads the contact's own). They are
        what the models give the profile after the event: the population prior's hours blended with the
        ml-state's histogram, the bandit's pick for its segment. Nothing is kept: the observe after the
        step computes them again with the event in."""
        if hints is not None:
            return None
        after = apply_event(profile, event)
        state = ml_state if ml_state is not None else new_ml_state()
        found, _ = self._hints(state, after, event["contact_id"], event["ts"], 0.0, None)
        return found

    def _observe(
        self,
        ml_state: MLState | None,
        profile: Profile,
        event: Event,
        now: int,
        actions: Sequence[dict[str, Any]],
        hints: Hints | None,
        keep_hints: bool,
    ) -> Observation:
        state = ml_state if ml_state is not None else new_ml_state()
        etype = event["type"]
        contact = event["contact_id"]
        scored = labels.rescores(state, event) if etype == TIMER_EVENT else is_activity(etype)
        trials_before = state.get("tr")
        if actions or trials_before:
            segment = segment_of(profile["attrs"])
            state, closed = trials.update(state, event, now, actions, segment, self.config.trials)
            if closed:
                self._reward(contact, closed)
        if not scored:
            return self._unscored(state, profile, event, now, trials_before, actions, hints, keep_hints)
        config = self.config
        pending: list[dict[str, Any]] = state.get("pend") or []
        kept = pending
        if pending:
            kept, resolved = labels.resolve_pending(pending, event, now, config.labels)
            if resolved:
                self._learn(contact, resolved)
        timezone = timezone_of(profile["attrs"])
        if etype != TIMER_EVENT:
            out = absorb(state, event, timezone)
            ts = event["ts"]
            self._update(self.models.prior.record, hour_of_week(ts, timezone), engagement_weight(etype), ts)
        else:
            out = state.copy()
        # ``out`` is this call's own copy from here on: it is changed in place
        if kept is not pending:
            out["pend"] = kept
        vector = feature_vector(profile, out, now)
        scores = self.models.score_vector(vector)
        out["sc"] = {CHURN: scores[0], CONVERT: scores[1]}
        predicted = self._crossings(out, event, now, scores)
        # Wake-ups of a contact silent for longer than re-scoring and a churn window take no snapshot:
        # each snapshot's label window schedules the next wake-up, so without this bound a contact whose
        # last event is a year old would be woken every few days up to today.
        silent_for = now - out["la"] if out.get("la") else 0
        snapshot = (
            labels.new_snapshot(out, now, vector, scores, config.labels)
            if etype != TIMER_EVENT or silent_for <= config.rescore_for_ms + config.labels.churn_window_ms
            else None
        )
        if snapshot is not None:
            out["pend"] = [*(out.get("pend") or []), snapshot]
            out["ls"] = now
        due, trials_only = self._next_wakeup(out, contact, now)
        changed, timer, timers = labels.wakeup(out.get("tm"), contact, due, trials_only)
        if changed:
            out["tm"] = timer
        if keep_hints:
            weight = engagement_weight(etype) if etype != TIMER_EVENT else 0.0
            hints, bookkeeping = self._hints(out, profile, contact, now, weight, hints)
            if bookkeeping is not None:
                out["hk"] = bookkeeping
        return Observation(out, predicted, timers, hints)

    def _unscored(
        self,
        state: MLState,
        profile: Profile,
        event: Event,
        now: int,
        trials_before: Any,
        actions: Sequence[dict[str, Any]],
        hints: Hints | None,
        keep_hints: bool,
    ) -> Observation:
        """An event that is not scored: only trials (and so the wake-up) and the hints may move. The
        hints are looked at only when the event came with actions (a send changes the pick) or there
        are none yet; otherwise the contact's next scored event refreshes them."""
        contact = event["contact_id"]
        timers: list[dict[str, Any]] = []
        if state.get("tr") is not trials_before:
            due, trials_only = self._next_wakeup(state, contact, now)
            state, timers = labels.schedule(state, contact, due, trials_only=trials_only)
        if keep_hints and (actions or hints is None):
            hints, bookkeeping = self._hints(state, profile, contact, now, 0.0, hints)
            if bookkeeping is not None:
                state = {**state, "hk": bookkeeping}
        return Observation(state, [], timers, hints)

    def _hints(
        self, state: MLState, profile: Profile, contact: str, now: int, weight: float, hints: Hints | None
    ) -> tuple[Hints, list[Any] | None]:
        hinter = self._hinter
        models = self.models
        if hinter.prior is not models.prior or hinter.bandit is not models.bandit:  # models were replaced
            hinter = self._hinter = Hinter(models.prior, models.bandit)
        return hinter.refresh(hints, state, profile["attrs"], contact, now, weight)

    def _reward(self, contact_id: str, closed: Sequence[Closed]) -> None:
        bandit = self.models.bandit
        for trial in closed:
            if self.config.learn and trial.channel in bandit.channels:
                self._update(bandit.update, trial.segment, trial.channel, trial.reward)
            if self.on_trial is not None:
                self.on_trial(contact_id, trial)

    def _learn(self, contact_id: str, resolved: list[Resolved]) -> None:
        for item in resolved:
            if self.config.learn:
                self._update(self.models.learn, item.model, as_features(item.vector), item.label)
            if self.on_label is not None:
                self.on_label(contact_id, item)

    def hold(self) -> None:
        """From now on, hold what the models would learn (labels, rewards, send hours) until `release`:
        the caller knows only later whether the contact's new state is kept. A state that is dropped keeps
        its pending labels, so they come again with its next event, and learning from them now would count
        them once per try (for a contact whose every event fails, once per event)."""
        self._held = []

    def release(self, keep: bool) -> None:
        """Learn what was held (``keep``: the state it came with is kept), or forget it."""
        held, self._held = self._held, None
        if keep and held:
            for update, arguments in held:
                update(*arguments)

    def _update(self, update: Callable[..., Any], *arguments: Any) -> None:
        if not self.learning:
            return
        if self._held is not None:
            self._held.append((update, arguments))
        else:
            update(*arguments)

    def _crossings(self, state: MLState, event: Event, now: int, scores: tuple[float, float]) -> list[Event]:
        """The predicted events of the scores' crossings; updates ``state["arm"]`` (the caller's own copy)."""
        learned = self.models.learned
        min_learned = self.config.min_learned
        if learned[CHURN] < min_learned and learned[CONVERT] < min_learned:
            return []  # no model is trusted yet
        armed: dict[str, bool] = state.get("arm") or {}
        changed: dict[str, bool] = {}
        out: list[Event] = []
        for name, score in zip(MODEL_NAMES, scores, strict=True):
            if learned[name] < min_learned:
                continue
            threshold = self.config.thresholds[name]
            is_armed = armed.get(name, True)
            if is_armed and score >= threshold.at:
                changed[name] = False
                out.append(self._predicted(event, name, score, threshold, "up", now))
            elif not is_armed and score < threshold.at - threshold.margin:
                changed[name] = True
                out.append(self._predicted(event, name, score, threshold, "down", now))
        if changed:
            state["arm"] = {**armed, **changed}
        return out

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

    def _next_wakeup(self, state: MLState, contact_id: str, now: int) -> tuple[int | None, bool]:
        """(the next ml wake-up, whether it only closes channel trials): the first label window to
        close, the next re-score of a silent contact or the first trial window to close, rounded up
        to the contact's slot on the wake-up grid (at most one wake-up per contact per grid period;
        contacts are spread over the period so they do not all wake at once)."""
        config = self.config
        due = labels.next_label_due(state, config.labels)
        last = state["la"]
        if last:
            # a late event (stamped before the last activity) must not pull the re-score back to `last`
            periods = max(now - last, 0) // config.rescore_every_ms + 1
            rescore = last + periods * config.rescore_every_ms
            if rescore - last <= config.rescore_for_ms:
                due = rescore if due is None or rescore < due else due
        trial_due = trials.next_close(state, config.trials) if state.get("tr") else None
        if due is None and trial_due is None:
            return None, False
        grid = config.wakeup_grid_ms
        current = state.get("tm")
        # a wake-up already on the grid sits on the contact's slot: reuse it rather than hash again
        slot = current["due"] % grid if current else wakeup_slot(contact_id, grid)
        rounded = None if due is None else due + (slot - due) % grid
        if trial_due is None:
            return rounded, False
        trial_rounded = trial_due + (slot - trial_due) % grid
        if rounded is None or trial_rounded < rounded:
            return trial_rounded, True
        return rounded, False


def wakeup_slot(contact_id: str, grid_ms: int) -> int:
    """The contact's offset on the wake-up grid (a hash, so contacts spread over the period)."""
    return int.from_bytes(blake2b(contact_id.encode(), digest_size=4).digest(), "big") % grid_ms
