"""The ml experiments on the generator's ground truth, as functions returning figures.

Used by loadtest/ml_bench.py (full size, printed) and tests/ml (small, asserted):
- ``run_online``: replay a real-time stream through a Scorer, keeping every resolved label with the
  score the model gave at snapshot time (prequential: test, then train);
- ``truth_label``: the same label recomputed from the generator's stream and truth, to check the
  label machinery;
- ``compare_offline``: prequential AUC next to scikit-learn batch models trained on the earlier half
  of the same (features, label) samples and tested on the later half (scikit-learn is test-only);
- ``restart_run``: checkpoint halfway, restore into a new Scorer, go on; against a cold start;
- ``send_time_lift``: engagement at the best send time vs a random hour, under ``Traits.affinity``;
- ``bandit_regret``: Thompson sampling's regret against the best fixed channel over time.
"""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine import step as engine_step
from engine.types import Event
from engine.workflows import WorkflowSet
from loadtest.generator import Traffic
from loadtest.ml_replay import Replay, replay
from ml.activity import is_activity
from ml.bandit import CHANNELS, ThompsonBandit
from ml.checkpoint import ModelCheckpoint
from ml.clock import HOUR_MS, hour_of_week, timezone_of
from ml.labels import CHURN, CONVERT, LabelConfig, Resolved
from ml.metrics import auc
from ml.models import ModelSet
from ml.scoring import Scorer, ScorerConfig
from ml.send_time import best_send_time


@dataclass
class OnlineRun:
    labels: list[tuple[str, Resolved]]  # (contact id, label) in resolution order
    replay: Replay
    scorer: Scorer
    seconds: float

    def samples(self, model: str) -> list[tuple[str, Resolved]]:
        return [(contact, item) for contact, item in self.labels if item.model == model]


def run_online(
    events: Sequence[Event],
    *,
    kind: str = "logreg",
    seed: int = 1,
    config: ScorerConfig | None = None,
    models: ModelSet | None = None,
    into: Replay | None = None,
) -> OnlineRun:
    """Replay ``events`` through a Scorer, recording every label it learns from."""
    log: list[tuple[str, Resolved]] = []
    scorer = Scorer(
        models if models is not None else ModelSet(kind, seed),
        config,
        on_label=lambda contact, item: log.append((contact, item)),
    )
    started = time.perf_counter()
    result = replay(events, scorer, into=into)
    return OnlineRun(log, result, scorer, time.perf_counter() - started)


def prequential_auc(samples: Sequence[tuple[str, Resolved]]) -> float:
    return auc([item.score for _, item in samples], [item.label for _, item in samples])


class TruthLabels:
    """Labels recomputed from the generator's own record of the stream (not from the scorer)."""

    def __init__(self, traffic: Traffic, config: LabelConfig) -> None:
        self.config = config
        self.activity: dict[str, list[int]] = {}
        for event in traffic.events:
            if is_activity(event["type"]):
                self.activity.setdefault(event["contact_id"], []).append(event["ts"])
        self.truth = traffic.truth

    def label(self, contact: str, item: Resolved) -> int:
        t = item.snapshot_ts
        if item.model == CONVERT:
            window = self.config.convert_window_ms
            return int(any(t < p <= t + window for p in self.truth[contact].purchase_ms))
        window = self.config.churn_window_ms
        return int(not any(t < a <= t + window for a in self.activity.get(contact, ())))


@dataclass
class AccuracyFigures:
    model: str
    samples: int
    positives: float  # share
    online_auc: float  # prequential, on the test half
    online_auc_all: float  # prequential, on every sample
    offline: dict[str, float] = field(default_factory=dict)  # sklearn model name -> AUC on the test half

    def best_offline(self) -> float:
        return max(self.offline.values())


def compare_offline(run: OnlineRun, model: str) -> AccuracyFigures:
    """Prequential AUC vs scikit-learn batch models (train: earlier half by snapshot time; test: later)."""
    from sklearn.ensemble import HistGradientBoostingClassifier  # type: ignore[import-untyped, import-not-found, unused-ignore]
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped, import-not-found, unused-ignore]
    from sklearn.pipeline import make_pipeline  # type: ignore[import-untyped, import-not-found, unused-ignore]
    from sklearn.preprocessing import StandardScaler  # type: ignore[import-untyped, import-not-found, unused-ignore]

    samples = sorted(run.samples(model), key=lambda pair: pair[1].snapshot_ts)
    half = len(samples) // 2
    train, test = samples[:half], samples[half:]
    x_train = [item.vector for _, item in train]
    y_train = [item.label for _, item in train]
    x_test = [item.vector for _, item in test]
    y_test = [item.label for _, item in test]
    offline: dict[str, float] = {}
    batch_models: dict[str, Any] = {
        "sklearn_logreg": make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
        "sklearn_gbdt": HistGradientBoostingClassifier(random_state=0),
    }
    for name, estimator in batch_models.items():
        estimator.fit(x_train, y_train)
        offline[name] = auc(list(estimator.predict_proba(x_test)[:, 1]), y_test)
    return AccuracyFigures(
        model=model,
        samples=len(samples),
        positives=sum(item.label for _, item in samples) / max(1, len(samples)),
        online_auc=prequential_auc(test),
        online_auc_all=prequential_auc(samples),
        offline=offline,
    )


@dataclass
class RestartFigures:
    model: str
    continuous_auc: float  # second half, no restart
    restored_auc: float  # second half, models restored from the halfway checkpoint
    cold_auc: float  # second half, models started from scratch at halfway
    restored_learned: int  # labels the restored model had learned before the restart


def restart_run(events: Sequence[Event], *, kind: str = "logreg", seed: int = 1) -> list[RestartFigures]:
    """Checkpoint at the stream's midpoint, restore into a new Scorer, and go on learning.

    Contact state (profiles, ml-states) carries over in every variant, as the changelogged tables do;
    only the models differ."""
    middle = events[len(events) // 2]["ts"]
    first = [e for e in events if e["ts"] < middle]
    second = [e for e in events if e["ts"] >= middle]
    head = run_online(first, kind=kind, seed=seed)
    with tempfile.TemporaryDirectory() as scratch:
        checkpoint = ModelCheckpoint(Path(scratch))
        checkpoint.save(head.scorer.models, now=0.0)
        restored = checkpoint.load()
    assert restored is not None
    learned = dict(restored.learned)
    continuous = run_online(second, models=head.scorer.models, into=_copy_replay(head.replay))
    after_restore = run_online(second, models=restored, into=_copy_replay(head.replay))
    cold = run_online(second, kind=kind, seed=seed, into=_copy_replay(head.replay))
    return [
        RestartFigures(
            model,
            prequential_auc(continuous.samples(model)),
            prequential_auc(after_restore.samples(model)),
            prequential_auc(cold.samples(model)),
            learned[model],
        )
        for model in (CHURN, CONVERT)
    ]


def _copy_replay(source: Replay) -> Replay:
    # states are never mutated in place (the scorer returns new dicts), so a shallow copy is a snapshot
    return Replay(dict(source.profiles), dict(source.ml_states), dict(source.hints))


@dataclass
class SendTimeFigures:
    horizon_hours: int
    contacts: int
    best: float  # mean engagement probability (affinity / peak) at the best send time
    random: float  # ... at a uniformly random time in the horizon
    oracle: float  # ... at the truly best hour in the horizon
    best_prior_only: float  # ... at the best send time for a contact without history (population prior)
    engine_wait: float  # ... when the engine's `wait until: best_send_time` on the worker's hints ends

    @property
    def lift(self) -> float:
        return self.best / self.random - 1

    @property
    def prior_lift(self) -> float:
        return self.best_prior_only / self.random - 1

    @property
    def engine_lift(self) -> float:
        return self.engine_wait / self.random - 1


def best_time_workflow(horizon_hours: int) -> WorkflowSet:
    """A one-wait workflow: on ``nudge.now``, `wait until: best_send_time` within the horizon, then send."""
    return WorkflowSet.from_definitions([{
        "id": "best_time_probe", "version": 1, "status": "published", "trigger": {"event": "nudge.now"},
        "start": "wait", "nodes": {
            "wait": {"type": "wait", "until": "best_send_time", "within": f"{horizon_hours}h",
                     "next": "send"},
            "send": {"type": "action", "action": "send_email", "params": {"template": "x"}},
        },
    }])  # fmt: skip


def engine_wait_due(workflows: WorkflowSet, contact: str, profile: Any, hints: Any, now: int) -> int:
    """When the engine's best-send-time wait ends for a contact with this profile and these hints."""
    state = {"v": 1, "contact_id": contact, "profile": profile, "offset": -1, "hints": hints}
    event: Event = {"event_id": f"probe-{contact}", "contact_id": contact, "type": "nudge.now", "ts": now,
                    "properties": {}}  # fmt: skip
    wait = engine_step.step(state, event, workflows, now).state["runs"]["best_time_probe"]["wait"]
    return int(wait["due"])


def send_time_lift(
    traffic: Traffic, run: OnlineRun, *, horizon_hours: int = 24, seed: int = 3, min_events: int = 5
) -> SendTimeFigures:
    """At the end of the stream, pick each contact's best send time and score it by its true engagement
    curve (``Traits.affinity`` of the local hour, relative to its peak), against a random time."""
    rng = random.Random(seed)
    decide_at = traffic.events[-1]["ts"]
    prior = run.scorer.models.prior.shares()
    best_sum = random_sum = oracle_sum = prior_sum = engine_sum = 0.0
    contacts = 0
    probe = best_time_workflow(horizon_hours)
    for contact, truth in traffic.truth.items():
        state = run.replay.ml_states.get(contact)
        if state is None or state["n_act"] < min_events:
            continue
        traits = truth.traits
        timezone = timezone_of(run.replay.profiles[contact]["attrs"])
        peak = traits.peak_affinity()

        def engagement(ts: int, traits: Any = traits, timezone: str = timezone, peak: float = peak) -> float:
            return float(traits.affinity(hour_of_week(ts, timezone) + 0.5) / peak)

        chosen = best_send_time(state, timezone, decide_at, prior=prior, horizon_hours=horizon_hours)
        prior_only = best_send_time(None, timezone, decide_at, prior=prior, horizon_hours=horizon_hours)
        hours = [decide_at + k * HOUR_MS for k in range(horizon_hours)]
        best_sum += engagement(chosen)
        profile = run.replay.profiles[contact]
        hints = run.replay.hints.get(contact)
        engine_sum += engagement(engine_wait_due(probe, contact, profile, hints, decide_at))
        prior_sum += engagement(prior_only)
        random_sum += engagement(decide_at + int(rng.random() * horizon_hours * HOUR_MS))
        oracle_sum += max(engagement(ts) for ts in hours)
        contacts += 1
    n = max(1, contacts)
    return SendTimeFigures(
        horizon_hours, contacts, best_sum / n, random_sum / n, oracle_sum / n, prior_sum / n, engine_sum / n
    )


# Response rates per segment and channel for the bandit simulation: no channel is best everywhere.
BANDIT_RATES: dict[str, dict[str, float]] = {
    "emea": {"email": 0.12, "sms": 0.08, "push": 0.05},
    "na": {"email": 0.06, "sms": 0.10, "push": 0.07},
    "apac": {"email": 0.05, "sms": 0.04, "push": 0.11},
}


@dataclass
class RegretPoint:
    rounds: int
    regret: float  # expected regret vs the best channel of each segment (cumulative)
    regret_vs_global: float  # vs the best single channel for everyone (negative: the bandit beats it)
    random_regret: float  # a uniformly random channel's expected cumulative regret, for scale


def bandit_regret(
    rounds: int, *, seed: int = 11, rates: dict[str, dict[str, float]] | None = None, points: int = 8
) -> list[RegretPoint]:
    """Simulate sends: a segment at random, the bandit's channel, a Bernoulli response."""
    table = rates if rates is not None else BANDIT_RATES
    segments = sorted(table)
    best = {segment: max(table[segment].values()) for segment in segments}
    global_channel = max(CHANNELS, key=lambda c: sum(table[s][c] for s in segments))
    mean_rate = {segment: sum(table[segment].values()) / len(table[segment]) for segment in segments}
    bandit = ThompsonBandit(CHANNELS, seed=seed)
    world = random.Random(seed + 1)
    marks = {max(1, rounds * (k + 1) // points) for k in range(points)}
    regret = regret_global = random_regret = 0.0
    out: list[RegretPoint] = []
    for step in range(1, rounds + 1):
        segment = segments[world.randrange(len(segments))]
        channel = bandit.choose(segment)
        rate = table[segment][channel]
        bandit.update(segment, channel, 1.0 if world.random() < rate else 0.0)
        regret += best[segment] - rate
        regret_global += table[segment][global_channel] - rate
        random_regret += best[segment] - mean_rate[segment]
        if step in marks:
            out.append(RegretPoint(step, regret, regret_global, random_regret))
    return out
