"""The per-contact ml-state: what features need that the profile does not keep, folded event by event.

A plain, orjson-serialisable dict, bounded whatever the stream (fixed key sets, a capped cart list):

    {"v": 1,
     "d7":  decayed bag {"b", "v": {group: w}}   event groups (ml.activity.GROUPS + "act"), half-life 7 d
     "d1":  decayed bag {"b", "v": {"act": w}}   activity, half-life 1 d
     "d30": decayed bag {"b", "v": {"act": w}}   activity, half-life 30 d
     "how": decayed bag {"b", "v": {"0".."167": w}}  hour-of-week engagement (ml.send_time)
     "fa": int, "la": int       first / last activity ms (0 = none; predictions are not activity)
     "n_act": int               activity events seen
     "n_pricing": int, "lp": int  pricing-page views, last one ms
     "carts": {cart_id: value}  open carts (created, not bought), the newest MAX_OPEN_CARTS
     "last_cart": float         value of the latest cart
     "unsub": bool
     ... plus the keys of ml.labels ("pend", "ls", "tm") and ml.scoring ("arm", "sc")}

``absorb`` is pure: it returns a new dict and never modifies its input.
"""

from __future__ import annotations

import math
from typing import Any

from engine import decay
from engine.types import Event
from ml import send_time
from ml.activity import GROUP_OF_TYPE, PRICING, is_activity, is_pricing_view
from ml.clock import DAY_MS, HOURS_PER_WEEK, hour_of_week

MLState = dict[str, Any]
ML_STATE_VERSION = 1
MAX_OPEN_CARTS = 5
MAX_CART_VALUE = 1e12
HALF_LIVES_MS = {"d1": DAY_MS, "d7": 7 * DAY_MS, "d30": 30 * DAY_MS}
ACTIVITY = "act"
_ACTIVITY_ONLY = (ACTIVITY,)
_H1, _H7, _H30 = HALF_LIVES_MS["d1"], HALF_LIVES_MS["d7"], HALF_LIVES_MS["d30"]
_HOW = send_time.HALF_LIFE_MS
_HOUR_KEYS = tuple((str(hour),) for hour in range(HOURS_PER_WEEK))


def new_ml_state() -> MLState:
    return {
        "v": ML_STATE_VERSION,
        "d7": decay.empty_bag(),
        "d1": decay.empty_bag(),
        "d30": decay.empty_bag(),
        "how": decay.empty_bag(),
        "fa": 0,
        "la": 0,
        "n_act": 0,
        "n_pricing": 0,
        "lp": 0,
        "carts": {},
        "last_cart": 0.0,
        "unsub": False,
    }


def absorb(ml_state: MLState | None, event: Event, timezone: str) -> MLState:
    """The ml-state after ``event``; events that are not the contact's activity leave it unchanged."""
    state = ml_state if ml_state is not None else new_ml_state()
    etype = event["type"]
    if not is_activity(etype):
        return state
    ts = event["ts"]
    out = state.copy()
    first, last = state["fa"], state["la"]
    out["fa"] = ts if not first or ts < first else first
    out["la"] = ts if ts > last else last
    out["n_act"] = state["n_act"] + 1
    group = GROUP_OF_TYPE.get(etype)
    week_keys: tuple[str, ...] = (ACTIVITY,) if group is None else (ACTIVITY, group)
    if is_pricing_view(event):
        week_keys += (PRICING,)
        out["n_pricing"] = state["n_pricing"] + 1
        out["lp"] = ts if ts > state["lp"] else state["lp"]
    out["d7"] = decay.add_keys(state["d7"], week_keys, 1.0, ts, _H7)
    out["d1"] = decay.add_keys(state["d1"], _ACTIVITY_ONLY, 1.0, ts, _H1)
    out["d30"] = decay.add_keys(state["d30"], _ACTIVITY_ONLY, 1.0, ts, _H30)
    out["how"] = decay.add_keys(  # send_time.record, inlined
        state["how"], _HOUR_KEYS[hour_of_week(ts, timezone)], send_time.engagement_weight(etype), ts, _HOW
    )
    if etype in ("cart.created", "cart.updated"):
        out.update(_cart_changed(state, event["properties"]))
    elif etype == "purchase":
        cart_id = event["properties"].get("cart_id")
        if isinstance(cart_id, str) and cart_id in state["carts"]:
            out["carts"] = {k: v for k, v in state["carts"].items() if k != cart_id}
    elif etype == "unsubscribed":
        out["unsub"] = True
    return out


def _cart_changed(state: MLState, props: dict[str, Any]) -> dict[str, Any]:
    cart_id, value = props.get("cart_id"), props.get("value")
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        return {}
    # Kept within [0, MAX_CART_VALUE]: the features take logs of these and of their sum, and one
    # infinite or negative feature would turn the shared models' weights to NaN for every contact.
    value = min(max(float(value), 0.0), MAX_CART_VALUE)
    changes: dict[str, Any] = {"last_cart": value}
    if isinstance(cart_id, str):
        carts = {k: v for k, v in state["carts"].items() if k != cart_id}
        carts[cart_id] = value
        changes["carts"] = dict(list(carts.items())[-MAX_OPEN_CARTS:])
    return changes
