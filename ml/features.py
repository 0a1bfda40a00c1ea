"""Feature extraction: the profile and the ml-state at event time ``now`` -> named floats.

Pure and deterministic: nothing but the arguments is read, nothing is modified, and no feature looks
past ``now`` (the label-leak tests rely on that). Counts and durations are log-scaled so a linear model
sees them on comparable scales; "never" durations are capped at ``NEVER_DAYS``.
"""

from __future__ import annotations

import math

from engine.types import Profile
from ml import decay
from ml.activity import GROUPS
from ml.clock import DAY_MS, HOURS_PER_WEEK, hour_of_week, timezone_of
from ml.state import ACTIVITY, HALF_LIVES_MS, MLState

NEVER_DAYS = 365.0
FEATURE_NAMES: tuple[str, ...] = (
    "recency_days",
    "tenure_days",
    "activity_total",
    "activity_per_day",
    *(f"decayed7_{group}" for group in GROUPS),
    "decayed7_activity",
    "decayed1_activity",
    "decayed30_activity",
    "momentum",
    "open_rate",
    "click_rate",
    "emails_sent",
    "pricing_visits",
    "days_since_pricing",
    "open_cart_value",
    "last_cart_value",
    "carts",
    "purchases",
    "days_since_purchase",
    "days_since_cart",
    "unsubscribed",
    "hour_peak_share",
    "hour_now_share",
)
Features = dict[str, float]
_H1, _H7, _H30 = HALF_LIVES_MS["d1"], HALF_LIVES_MS["d7"], HALF_LIVES_MS["d30"]


def feature_vector(profile: Profile, ml_state: MLState, now: int) -> list[float]:
    """The features in ``FEATURE_NAMES`` order."""
    log = math.log1p
    counts = profile["counts"]
    last_by_type = profile["last_by_type"]
    first = ml_state["fa"]
    tenure = max(0.0, (now - first) / DAY_MS) if first else 0.0
    activity_total = ml_state["n_act"]
    week_bag = ml_state["d7"]
    week: dict[str, float] = week_bag["v"]
    week_factor = 2.0 ** ((week_bag["b"] - now) / _H7) if week else 0.0
    d7_activity = week.get(ACTIVITY, 0.0) * week_factor
    d30_activity = _decayed_activity(ml_state["d30"], now, _H30)
    opened = counts.get("email.opened", 0)
    sent = counts.get("email.sent", 0)
    clicked = counts.get("email.clicked", 0)
    vector = [
        log(_days_since(ml_state["la"], now)),
        log(tenure),
        log(activity_total),
        activity_total / max(1.0, tenure),
    ]
    vector += [log(week.get(group, 0.0) * week_factor) for group in GROUPS]
    vector += [
        log(d7_activity),
        log(_decayed_activity(ml_state["d1"], now, _H1)),
        log(d30_activity),
        d7_activity / (d30_activity + 1.0),
        min(1.0, opened / sent) if sent else 0.0,
        min(1.0, clicked / opened) if opened else 0.0,
        log(sent),
        log(ml_state["n_pricing"]),
        log(_days_since(ml_state["lp"], now)),
        log(sum(ml_state["carts"].values())),
        log(ml_state["last_cart"]),
        log(counts.get("cart.created", 0)),
        log(counts.get("purchase", 0)),
        log(_days_since(last_by_type.get("purchase", 0), now)),
        log(_days_since(last_by_type.get("cart.created", 0), now)),
        1.0 if ml_state["unsub"] else 0.0,
    ]
    vector += _hour_shares(profile, ml_state, now)
    return vector


def features(profile: Profile, ml_state: MLState, now: int) -> Features:
    """The features as a name -> value dict (River's input shape)."""
    return dict(zip(FEATURE_NAMES, feature_vector(profile, ml_state, now), strict=True))


def as_features(vector: list[float]) -> Features:
    """A stored vector back into the named dict."""
    return dict(zip(FEATURE_NAMES, vector, strict=True))


def _decayed_activity(bag: decay.DecayedBag, now: int, half_life_ms: int) -> float:
    stored = bag["v"].get(ACTIVITY)
    return float(stored * 2.0 ** ((bag["b"] - now) / half_life_ms)) if stored else 0.0


def _days_since(then: int, now: int) -> float:
    if not then:
        return NEVER_DAYS
    return min(NEVER_DAYS, max(0.0, (now - then) / DAY_MS))


def _hour_shares(profile: Profile, ml_state: MLState, now: int) -> list[float]:
    """(share of the busiest hour of the week, share of the current hour and its neighbours) of the
    contact's own engagement histogram; zeros without history."""
    bag = ml_state["how"]
    stored: dict[str, float] = bag["v"]
    total = sum(stored.values())
    if total <= 0:
        return [0.0, 0.0]
    # shares are ratios, so the bag's common decay factor cancels out: read the stored values directly
    hour = hour_of_week(now, timezone_of(profile["attrs"]))
    around = sum(stored.get(str((hour + k) % HOURS_PER_WEEK), 0.0) for k in (-1, 0, 1))
    return [max(stored.values()) / total, around / total]
