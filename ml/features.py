"""Feature extraction: the profile and the ml-state at event time ``now`` -> named floats.

Pure and deterministic: nothing but the arguments is read, nothing is modified, and no feature looks
past ``now`` (the label-leak tests rely on that). Counts and durations are log-scaled so a linear model
sees them on comparable scales; "never" durations are capped at ``NEVER_DAYS``.
"""

from __future__ import annotations

import math

from engine.types import Profile
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
_GROUP_SLOT = {group: FEATURE_NAMES.index(f"decayed7_{group}") for group in GROUPS}  # place in the vector
_NO_GROUPS = (0.0,) * len(GROUPS)
_HOUR_KEYS = tuple(str(hour) for hour in range(HOURS_PER_WEEK))
_NO_HOUR_SHARES = (0.0, 0.0)
_LOG_NEVER = math.log1p(NEVER_DAYS)


def feature_vector(profile: Profile, ml_state: MLState, now: int) -> list[float]:
    """The features in ``FEATURE_NAMES`` order."""
    # Written for speed (it runs on every activity event): zeros skip log1p (log1p(0) == 0.0) and the
    # "never" durations use their precomputed log; the values are those of the plain formulas.
    log = math.log1p
    counts = profile["counts"]
    last_by_type = profile["last_by_type"]
    first = ml_state["fa"]
    tenure = max(0.0, (now - first) / DAY_MS) if first else 0.0
    activity_total = ml_state["n_act"]
    week_bag = ml_state["d7"]
    week: dict[str, float] = week_bag["v"]
    # A late event reads the counters at their base, not before it: read back in time, newer activity
    # would be inflated (2 ** 1024 overflows for an event 1,024 half-lives late, 2.8 years for d1).
    week_factor = 2.0 ** (min(0, week_bag["b"] - now) / _H7) if week else 0.0
    d7_activity = week.get(ACTIVITY, 0.0) * week_factor
    bag = ml_state["d1"]
    stored = bag["v"].get(ACTIVITY)
    d1_activity = float(stored * 2.0 ** (min(0, bag["b"] - now) / _H1)) if stored else 0.0
    bag = ml_state["d30"]
    stored = bag["v"].get(ACTIVITY)
    d30_activity = float(stored * 2.0 ** (min(0, bag["b"] - now) / _H30)) if stored else 0.0
    opened = counts.get("email.opened", 0)
    sent = counts.get("email.sent", 0)
    clicked = counts.get("email.clicked", 0)
    last_activity, last_pricing = ml_state["la"], ml_state["lp"]
    last_purchase, last_cart = last_by_type.get("purchase", 0), last_by_type.get("cart.created", 0)
    carts = ml_state["carts"]
    pricing_visits, cart_value = ml_state["n_pricing"], ml_state["last_cart"]
    cart_count, purchases = counts.get("cart.created", 0), counts.get("purchase", 0)
    vector = [
        log(min(NEVER_DAYS, max(0.0, (now - last_activity) / DAY_MS))) if last_activity else _LOG_NEVER,
        log(tenure),
        log(activity_total),
        activity_total / max(1.0, tenure),
        *_NO_GROUPS,  # log1p(0) for a group the week has not seen; the seen ones are set below
        log(d7_activity),
        log(d1_activity),
        log(d30_activity),
        d7_activity / (d30_activity + 1.0),
        min(1.0, opened / sent) if sent else 0.0,
        min(1.0, clicked / opened) if opened else 0.0,
        log(sent) if sent else 0.0,
        log(pricing_visits) if pricing_visits else 0.0,
        log(min(NEVER_DAYS, max(0.0, (now - last_pricing) / DAY_MS))) if last_pricing else _LOG_NEVER,
        log(sum(carts.values())) if carts else 0.0,
        log(cart_value) if cart_value else 0.0,
        log(cart_count) if cart_count else 0.0,
        log(purchases) if purchases else 0.0,
        log(min(NEVER_DAYS, max(0.0, (now - last_purchase) / DAY_MS))) if last_purchase else _LOG_NEVER,
        log(min(NEVER_DAYS, max(0.0, (now - last_cart) / DAY_MS))) if last_cart else _LOG_NEVER,
        1.0 if ml_state["unsub"] else 0.0,
    ]
    for key, stored_week in week.items():
        index = _GROUP_SLOT.get(key)
        if index is not None:
            vector[index] = log(stored_week * week_factor)
    how: dict[str, float] = ml_state["how"]["v"]
    total = sum(how.values()) if how else 0.0
    if total <= 0:
        vector += _NO_HOUR_SHARES
        return vector
    # hour shares are ratios, so the bag's common decay factor cancels out: read the stored values
    hour = hour_of_week(now, timezone_of(profile["attrs"]))
    get = how.get
    around = get(_HOUR_KEYS[hour - 1], 0.0) + get(_HOUR_KEYS[hour], 0.0) + get(_HOUR_KEYS[hour - 167], 0.0)
    vector.append(max(how.values()) / total)
    vector.append(around / total)
    return vector


def features(profile: Profile, ml_state: MLState, now: int) -> Features:
    """The features as a name -> value dict (River's input shape)."""
    return dict(zip(FEATURE_NAMES, feature_vector(profile, ml_state, now), strict=True))


def as_features(vector: list[float]) -> Features:
    """A stored vector back into the named dict."""
    return dict(zip(FEATURE_NAMES, vector, strict=True))
