"""Feature extraction: pure, deterministic, bounded state, no look-ahead, and the features mean what
they say."""

from __future__ import annotations

import copy
import math
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.profile import SYSTEM_EVENT_TYPES as ENGINE_SYSTEM_EVENT_TYPES
from engine.profile import apply_event
from engine.types import Event
from ml import activity
from ml.features import FEATURE_NAMES, feature_vector, features
from ml.labels import LabelConfig, Resolved
from ml.scoring import Scorer, ScorerConfig
from ml.state import MAX_CART_VALUE, MAX_OPEN_CARTS, absorb, new_ml_state
from tests.ml.fixtures import DAY, HOUR, T0, ScriptedModels, fold, make_event

TYPES = [
    "email.opened",
    "email.clicked",
    "email.sent",
    "page.viewed",
    "cart.created",
    "purchase",
    "product.used",
    "unsubscribed",
    "timer.fired",
    "predicted.churn_risk",
]


def _event(etype: str, ts: int, n: int) -> Event:
    props: dict[str, Any] = {}
    if etype == "page.viewed":
        props = {"page": "pricing" if n % 3 == 0 else "blog"}
    elif etype in ("cart.created", "purchase"):
        props = {"cart_id": f"k{n % 7}", "value": 10.0 + n, "amount": 10.0 + n}
    elif etype.startswith("predicted."):
        props = {"score": 0.9}
    return make_event(etype, ts, event_id=f"e{n}", **props)


streams = st.lists(st.tuples(st.sampled_from(TYPES), st.integers(0, 60 * DAY)), min_size=1, max_size=40).map(
    lambda pairs: [_event(etype, T0 + offset, n) for n, (etype, offset) in enumerate(pairs)]
)


@given(streams, st.integers(0, 90 * DAY))
def test_features_are_deterministic_and_do_not_mutate_inputs(events: list[Event], later: int) -> None:
    profile, state = fold(events, "Europe/Berlin")
    assert profile is not None and state is not None
    profile["attrs"] = {"timezone": "Europe/Berlin"}
    now = T0 + later
    before = (copy.deepcopy(profile), copy.deepcopy(state))
    first = features(profile, state, now)
    assert features(profile, state, now) == first
    assert (profile, state) == before
    assert list(first) == list(FEATURE_NAMES)
    assert all(math.isfinite(value) for value in first.values())


@given(streams)
def test_absorb_is_pure(events: list[Event]) -> None:
    state = new_ml_state()
    for event in events:
        before = copy.deepcopy(state)
        state_after = absorb(state, event, "UTC")
        assert state == before
        state = state_after


@settings(max_examples=50)
@given(streams, streams)
def test_a_snapshot_never_depends_on_later_events(past: list[Event], future: list[Event]) -> None:
    """The features kept for a label, and learned from, are those of the snapshot's moment."""
    cut = max(e["ts"] for e in past)
    later: list[Event] = [
        {**e, "ts": cut + 1 + (e["ts"] - T0), "event_id": "f" + e["event_id"]} for e in future
    ]
    later.sort(key=lambda e: e["ts"])
    config = ScorerConfig(labels=LabelConfig(snapshot_every_ms=10**12, max_pending=1))  # one snapshot
    learned: list[Resolved] = []
    scorer = Scorer(ScriptedModels([(0.1, 0.1)]), config, on_label=lambda _, item: learned.append(item))
    ordered = sorted(past, key=lambda e: e["ts"])
    stream = ordered + later
    profile = state = None
    snapshot = None
    for index, event in enumerate(stream):
        profile = apply_event(profile, event)
        state, _, _ = scorer.observe(state, profile, event, event["ts"])
        if snapshot is None and state.get("pend"):
            snapshot = copy.deepcopy(state["pend"][0])
            profile_then, state_then = fold(stream[: index + 1])
            assert profile_then is not None and state_then is not None
            assert snapshot["x"] == feature_vector(profile_then, state_then, snapshot["t"])
        for kept in state.get("pend") or []:
            assert snapshot is not None and kept["x"] == snapshot["x"]
    assert all(snapshot is not None and item.vector == snapshot["x"] for item in learned)


def test_recency_tenure_and_decayed_counts_follow_event_time() -> None:
    events = [make_event("contact.added", T0), make_event("email.opened", T0 + 2 * DAY)]
    profile, state = fold(events)
    assert profile is not None and state is not None
    x = features(profile, state, T0 + 9 * DAY)
    assert x["recency_days"] == pytest.approx(math.log1p(7))
    assert x["tenure_days"] == pytest.approx(math.log1p(9))
    assert x["decayed7_open"] == pytest.approx(math.log1p(0.5))  # one open, one half-life ago
    assert x["activity_total"] == pytest.approx(math.log1p(2))


def test_system_events_and_predictions_are_not_activity() -> None:
    _, state = fold([make_event("email.opened", T0)])
    for etype in ("email.sent", "predicted.churn_risk", "timer.fired"):
        assert absorb(state, make_event(etype, T0 + DAY, score=0.9), "UTC") is state
    assert not any(activity.is_activity(etype) for etype in ENGINE_SYSTEM_EVENT_TYPES)


def test_rates_pricing_and_cart_values() -> None:
    events = [
        make_event("email.sent", T0),
        make_event("email.sent", T0 + 1),
        make_event("email.sent", T0 + 2),
        make_event("email.sent", T0 + 3),
        make_event("email.opened", T0 + 4),
        make_event("email.opened", T0 + 5),
        make_event("email.clicked", T0 + 6),
        make_event("page.viewed", T0 + 7, page="pricing", url="https://x/pricing"),
        make_event("page.viewed", T0 + 8, url="https://x/pricing/teams"),
        make_event("page.viewed", T0 + 9, page="blog"),
        make_event("cart.created", T0 + 10, cart_id="k1", value=40.0),
        make_event("cart.created", T0 + 11, cart_id="k2", value=60.0),
        make_event("purchase", T0 + 12, cart_id="k1", amount=40.0),
    ]
    profile, state = fold(events)
    assert profile is not None and state is not None
    x = features(profile, state, T0 + DAY)
    assert x["open_rate"] == pytest.approx(0.5)
    assert x["click_rate"] == pytest.approx(0.5)
    assert x["pricing_visits"] == pytest.approx(math.log1p(2))
    assert x["open_cart_value"] == pytest.approx(math.log1p(60.0))  # k1 was bought
    assert x["last_cart_value"] == pytest.approx(math.log1p(60.0))
    assert x["purchases"] == pytest.approx(math.log1p(1))


def test_hour_of_week_activity_uses_the_contacts_timezone() -> None:
    monday_9_berlin = 1_767_600_000_000 - 1_767_600_000_000 % HOUR  # hour-aligned base
    events = [make_event("email.opened", monday_9_berlin + week * 7 * DAY) for week in range(4)]
    profile, state = fold(events, "Asia/Tokyo")
    assert profile is not None and state is not None
    profile["attrs"] = {"timezone": "Asia/Tokyo"}
    at_habit = features(profile, state, monday_9_berlin + 5 * 7 * DAY)
    off_habit = features(profile, state, monday_9_berlin + 5 * 7 * DAY + 12 * HOUR)
    assert at_habit["hour_peak_share"] == pytest.approx(1.0)
    assert at_habit["hour_now_share"] == pytest.approx(1.0)
    assert off_habit["hour_now_share"] == 0.0


@settings(max_examples=20)
@given(st.integers(0, 2**16))
def test_ml_state_stays_bounded_and_serialisable(seed: int) -> None:
    import random

    rng = random.Random(seed)
    scorer = Scorer(ScriptedModels([(0.5, 0.5)]))
    profile = state = None
    ts = T0
    for n in range(600):
        ts += rng.randrange(1, 6 * HOUR)
        event = _event(rng.choice(TYPES[:8]), ts, n)
        if event["type"] == "cart.created":
            event["properties"]["cart_id"] = f"k{n}"  # never bought: open carts pile up
        profile = apply_event(profile, event)
        state, _, _ = scorer.observe(state, profile, event, ts)
    assert state is not None
    assert orjson.loads(orjson.dumps(state)) == state
    assert len(state["carts"]) <= MAX_OPEN_CARTS
    assert len(state["pend"]) <= scorer.config.labels.max_pending
    assert len(state["how"]["v"]) <= 168
    assert len(orjson.dumps(state)) < 16_000


@pytest.mark.parametrize("values", [(1e308, 1e308), (-2.0, 5.0), (-1.0,), (1e300, -1e300)])
def test_any_cart_values_give_finite_features(values: tuple[float, ...]) -> None:
    """Two carts near the float limit sum to infinity, and a value of -1 or less has no log1p: either way
    one feature would be infinite or raise, and one infinite feature turns the shared models' weights to
    NaN. Cart values are kept within [0, MAX_CART_VALUE]."""
    events = [make_event("cart.created", T0 + n, cart_id=f"k{n}", value=v) for n, v in enumerate(values)]
    profile, state = fold(events)
    assert profile is not None and state is not None
    vector = feature_vector(profile, state, T0 + DAY)
    assert all(math.isfinite(value) for value in vector), vector
    assert all(0.0 <= value <= MAX_CART_VALUE for value in state["carts"].values())


def test_an_event_years_before_the_contacts_latest_activity_is_scored() -> None:
    """The decayed counters are read at the late event's time no earlier than their base: read back three
    years, 2 ** (1,095 one-day half-lives) overflowed, and the event was dead-lettered."""
    profile, state = fold([make_event("email.opened", T0 + 1100 * DAY)])
    assert profile is not None and state is not None
    late = T0
    vector = feature_vector(profile, state, late)
    assert all(math.isfinite(value) for value in vector)
    on_time = features(profile, state, T0 + 1100 * DAY)
    assert features(profile, state, late)["decayed1_activity"] == on_time["decayed1_activity"]
