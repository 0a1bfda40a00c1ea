"""Late labels: decided by events, released when their windows close, woken up by durable timers."""

from __future__ import annotations

from engine.pending import pending_timers
from ml.labels import (
    CHURN,
    CONVERT,
    ML_TIMER_KIND,
    LabelConfig,
    next_label_due,
    pending_ml_timers,
    resolve,
    schedule,
    take_snapshot,
)
from ml.state import MLState, new_ml_state
from tests.ml.fixtures import DAY, T0, make_event

CONFIG = LabelConfig(convert_window_ms=14 * DAY, churn_window_ms=30 * DAY, snapshot_every_ms=2 * DAY)
VECTOR = [1.0, 2.0]


def _with_snapshot(t: int = T0) -> MLState:
    return take_snapshot(new_ml_state(), t, VECTOR, (0.3, 0.6), CONFIG)


def test_snapshots_are_spaced_and_bounded() -> None:
    state = _with_snapshot()
    assert take_snapshot(state, T0 + DAY, VECTOR, (0.1, 0.1), CONFIG) is state  # too soon
    config = LabelConfig(snapshot_every_ms=1, max_pending=3)
    for step in range(10):
        state = take_snapshot(state, T0 + 2 * DAY + step, VECTOR, (0.1, 0.1), config)
    assert len(state["pend"]) == 3


def test_a_purchase_in_the_window_decides_conversion_but_it_is_released_at_window_close() -> None:
    state = _with_snapshot()
    state, released = resolve(state, make_event("purchase", T0 + 3 * DAY), T0 + 3 * DAY, CONFIG)
    assert released == [] and state["pend"][0]["conv"] == 1 and state["pend"][0]["churn"] == 0
    assert next_label_due(state, CONFIG) == T0 + 14 * DAY + 1
    state, released = resolve(state, None, T0 + 14 * DAY + 1, CONFIG)
    assert [(r.model, r.label, r.score, r.vector, r.snapshot_ts) for r in released] == [
        (CONVERT, 1, 0.6, VECTOR, T0)
    ]
    state, released = resolve(state, None, T0 + 30 * DAY + 1, CONFIG)
    assert [(r.model, r.label, r.score) for r in released] == [(CHURN, 0, 0.3)]
    assert state["pend"] == []


def test_silence_is_churn_and_no_purchase_is_no_conversion() -> None:
    state = _with_snapshot()
    state, released = resolve(state, None, T0 + 14 * DAY, CONFIG)  # the window is (t, t + 14d]
    assert released == []
    state, released = resolve(state, None, T0 + 31 * DAY, CONFIG)
    assert sorted((r.model, r.label) for r in released) == [(CHURN, 1), (CONVERT, 0)]
    assert state["pend"] == []


def test_events_outside_the_window_or_not_activity_decide_nothing() -> None:
    state = _with_snapshot(T0 + DAY)
    for event in (
        make_event("purchase", T0),  # before the snapshot (late arrival)
        make_event("purchase", T0 + DAY),  # at the snapshot itself: the window is open on the left
        make_event("email.sent", T0 + 2 * DAY),  # ours, not the contact's
        make_event("predicted.churn_risk", T0 + 2 * DAY, score=0.9),
    ):
        state, _ = resolve(state, event, event["ts"], CONFIG)
    assert (state["pend"][0]["conv"], state["pend"][0]["churn"]) == (None, None)


def test_one_timer_per_contact_in_the_engine_shape() -> None:
    state = _with_snapshot()
    state, requests = schedule(state, "c1", T0 + 14 * DAY + 1)
    assert requests == [
        {
            "due": T0 + 14 * DAY + 1,
            "token": state["tm"]["token"],
            "contact_id": "c1",
            "workflow_id": None,
            "run_id": None,
            "node_id": None,
            "kind": ML_TIMER_KIND,
        }
    ]
    assert schedule(state, "c1", T0 + 14 * DAY + 1) == (state, [])  # unchanged: nothing new to store
    assert pending_ml_timers(state) == [(T0 + 14 * DAY + 1, state["tm"]["token"], ML_TIMER_KIND)]
    # the engine's own pending list ignores the ml slot; the runtime adds pending_ml_timers to it
    assert pending_timers({"ml": state}) == []
    later, _ = schedule(state, "c1", T0 + 20 * DAY)
    assert later["tm"]["token"] != state["tm"]["token"]
    cleared, requests = schedule(later, "c1", None)
    assert cleared["tm"] is None and requests == [] and pending_ml_timers(cleared) == []


def test_labels_learned_on_the_generated_stream_match_its_ground_truth() -> None:
    from loadtest.ml_experiments import TruthLabels
    from tests.ml.fixtures import small_run, small_traffic

    run = small_run()
    truth = TruthLabels(small_traffic(), CONFIG)
    assert len(run.labels) > 10_000
    assert {r.model for _, r in run.labels} == {CHURN, CONVERT}
    mismatches = [(c, r) for c, r in run.labels if truth.label(c, r) != r.label]
    assert mismatches == []
    # every label waited for its window to close
    for _, item in run.labels:
        window = CONFIG.convert_window_ms if item.model == CONVERT else CONFIG.churn_window_ms
        assert item.resolved_ts > item.snapshot_ts + window
