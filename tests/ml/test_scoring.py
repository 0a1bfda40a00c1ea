"""The scorer: threshold crossings with hysteresis, contract-shaped deterministic events, warm-up,
which events it scores, and the folded linear view agreeing with River."""

from __future__ import annotations

import random

import orjson
import pytest

from engine.events import Limits, decode_event
from engine.profile import apply_event
from engine.types import Event
from ml.features import FEATURE_NAMES, as_features
from ml.labels import CHURN, CONVERT, ML_TIMER_KIND
from ml.models import ModelSet
from ml.scoring import Scorer, ScorerConfig, Threshold
from ml.state import MLState
from tests.ml.fixtures import DAY, HOUR, T0, ScriptedModels, make_event

CONFIG = ScorerConfig(thresholds={CHURN: Threshold(0.7, 0.1), CONVERT: Threshold(0.5, 0.2)})


def _play(scorer: Scorer, events: list[Event], state: MLState | None = None) -> tuple[MLState, list[Event]]:
    profile = None
    out: list[Event] = []
    for event in events:
        profile = apply_event(profile, event)
        state, predicted, _ = scorer.observe(state, profile, event, event["ts"])
        out += predicted
    assert state is not None
    return state, out


def _opens(n: int) -> list[Event]:
    return [make_event("email.opened", T0 + k * HOUR) for k in range(n)]


def test_an_upward_crossing_fires_once_while_the_score_hovers_at_the_line() -> None:
    churn = [0.2, 0.72, 0.69, 0.71, 0.65, 0.75, 0.59, 0.62, 0.8]
    scorer = Scorer(ScriptedModels([(c, 0.0) for c in churn]), CONFIG)
    _, predicted = _play(scorer, _opens(len(churn)))
    moves = [(e["properties"]["direction"], e["properties"]["score"]) for e in predicted]
    # up at 0.72; 0.69 .. 0.65 stay above 0.6 (= 0.7 - margin): no re-arm; 0.59 re-arms; 0.8 fires again
    assert moves == [("up", 0.72), ("down", 0.59), ("up", 0.8)]
    assert {e["type"] for e in predicted} == {"predicted.churn_risk"}


def test_each_model_has_its_own_threshold_and_arming() -> None:
    script = [(0.1, 0.55), (0.9, 0.4), (0.9, 0.29), (0.1, 0.5)]
    scorer = Scorer(ScriptedModels(script), CONFIG)
    _, predicted = _play(scorer, _opens(len(script)))
    assert [(e["type"], e["properties"]["direction"]) for e in predicted] == [
        ("predicted.likely_to_convert", "up"),
        ("predicted.churn_risk", "up"),
        ("predicted.likely_to_convert", "down"),
        ("predicted.churn_risk", "down"),
        ("predicted.likely_to_convert", "up"),
    ]


def test_predicted_events_keep_the_contract_and_are_deterministic() -> None:
    events = _opens(2)

    def run() -> list[Event]:
        return _play(Scorer(ScriptedModels([(0.1, 0.1), (0.95, 0.1)]), CONFIG), events)[1]

    first, again = run(), run()
    assert first == again and len(first) == 1
    event = first[0]
    decoded = decode_event(orjson.dumps(event), b"c1", Limits())
    assert decoded == event
    assert event["ts"] == events[1]["ts"] and event["properties"]["cause"] == events[1]["event_id"]
    other = _play(
        Scorer(ScriptedModels([(0.1, 0.1), (0.95, 0.1)]), CONFIG), [events[0], {**events[1], "event_id": "x"}]
    )
    assert other[1][0]["event_id"] != event["event_id"]
    # the engine folds it into the profile's scores, where conditions read contact.scores.churn_risk
    assert apply_event(None, event)["scores"] == {CHURN: 0.95}


def test_no_events_before_the_models_learned_enough() -> None:
    scorer = Scorer(ScriptedModels([(0.99, 0.99)], learned=10), ScorerConfig(min_learned=200))
    state, predicted = _play(scorer, _opens(5))
    assert predicted == [] and state["sc"] == {CHURN: 0.99, CONVERT: 0.99}


def test_other_timers_system_events_and_predictions_are_not_scored() -> None:
    scorer = Scorer(ScriptedModels([(0.99, 0.99)]), CONFIG)
    state, _ = _play(scorer, _opens(1))
    profile = apply_event(None, _opens(1)[0])
    for event in (
        make_event("timer.fired", T0 + DAY, token="t", kind="wait"),
        make_event("email.sent", T0 + DAY),
        make_event("predicted.churn_risk", T0 + DAY, score=0.99),
    ):
        assert scorer.observe(state, profile, event, event["ts"]) == (state, [], [])


def test_an_ml_wakeup_rescores_a_silent_contact() -> None:
    scorer = Scorer(ScriptedModels([(0.2, 0.0), (0.9, 0.0)]), CONFIG)
    state, _ = _play(scorer, _opens(1))
    due, token = state["tm"]["due"], state["tm"]["token"]
    assert T0 + 7 * DAY <= due < T0 + 8 * DAY  # re-score after a week of silence, on the contact's slot
    wakeup = make_event("timer.fired", due, event_id=f"timer:{token}", token=token, kind=ML_TIMER_KIND)
    profile = apply_event(None, _opens(1)[0])
    state, predicted, timers = scorer.observe(state, profile, wakeup, due)
    assert [e["properties"]["direction"] for e in predicted] == ["up"]
    assert [t["kind"] for t in timers] == [ML_TIMER_KIND] and timers[0]["due"] > due


def test_a_wakeup_the_contact_moved_on_from_rescores_nothing() -> None:
    scorer = Scorer(ScriptedModels([(0.2, 0.0), (0.2, 0.0), (0.9, 0.0)]), CONFIG)
    events = _opens(1)
    first, _ = _play(scorer, events)
    later = make_event("email.opened", T0 + 2 * DAY)
    state, _ = _play(scorer, [later], first)  # the activity moves the re-score a week after itself
    assert state["tm"]["token"] != first["tm"]["token"] and state["tm"]["due"] > first["tm"]["due"]
    due, token = first["tm"]["due"], first["tm"]["token"]
    stale = make_event("timer.fired", due, event_id=f"timer:{token}", token=token, kind=ML_TIMER_KIND)
    profile = apply_event(apply_event(None, events[0]), later)
    assert scorer.observe(state, profile, stale, due) == (state, [], [])  # the 0.9 is never scored
    current = state["tm"]
    wakeup = make_event("timer.fired", current["due"], token=current["token"], kind=ML_TIMER_KIND)
    _, predicted, _ = scorer.observe(state, profile, wakeup, current["due"])
    assert [e["properties"]["direction"] for e in predicted] == ["up"]


def test_a_late_event_keeps_the_silent_contacts_rescore_a_week_after_its_latest_activity() -> None:
    scorer = Scorer(ScriptedModels([(0.2, 0.0)] * 4), CONFIG)
    latest = T0 + 3 * DAY
    in_order, _ = _play(scorer, [make_event("email.opened", T0), make_event("email.opened", latest)])
    late, _ = _play(scorer, [make_event("email.opened", latest), make_event("email.opened", T0)])
    # stamped before the latest activity, the late event must not pull the wake-up back to that activity
    assert latest + 7 * DAY <= late["tm"]["due"] < latest + 8 * DAY
    assert late["tm"]["due"] == in_order["tm"]["due"]


def test_the_folded_linear_view_gives_rivers_probabilities() -> None:
    rng = random.Random(4)
    models = ModelSet("logreg", view_refresh=1)
    for _ in range(300):
        vector = [rng.gauss(0, 1) for _ in FEATURE_NAMES]
        models.learn(CHURN, as_features(vector), int(vector[0] + rng.gauss(0, 0.5) > 0))
        models.learn(CONVERT, as_features(vector), int(vector[1] > 0.5))
        probe = [rng.gauss(0, 1) for _ in FEATURE_NAMES]
        assert models.score_vector(probe) == pytest.approx(models.scores(as_features(probe)), abs=1e-9)
    assert models.score_vector([3.0] + [0.0] * (len(FEATURE_NAMES) - 1))[0] > 0.7  # it learned


def test_other_model_kinds_score_through_river() -> None:
    models = ModelSet("hoeffding")
    vector = [0.5] * len(FEATURE_NAMES)
    models.learn(CHURN, as_features(vector), 1)
    assert models.score_vector(vector) == models.scores(as_features(vector))
