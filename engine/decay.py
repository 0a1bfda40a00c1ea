"""Exponentially decayed counters kept as plain data: ``{"b": base ms, "v": {key: stored}}``.

A value added at time ``ts`` is stored inflated by ``2 ** ((ts - b) / half_life)``, and read back at
``now`` deflated by ``2 ** ((now - b) / half_life)``, so an update touches one key instead of decaying
every key, and an out-of-order event is weighted by its own time. When the inflation grows large the bag
is rebased (every key rescaled once), which keeps the numbers finite over any stream.

All functions are pure: they return new dicts and never modify their inputs.
"""

from __future__ import annotations

from typing import Any

DecayedBag = dict[str, Any]  # {"b": int, "v": dict[str, float]}
REBASE_AFTER_HALF_LIVES = 24.0


def empty_bag() -> DecayedBag:
    return {"b": 0, "v": {}}


def add(bag: DecayedBag, key: str, weight: float, ts: int, half_life_ms: int) -> DecayedBag:
    """``bag`` with ``weight`` added to ``key`` at time ``ts``."""
    return add_keys(bag, (key,), weight, ts, half_life_ms)


def add_keys(bag: DecayedBag, keys: tuple[str, ...], weight: float, ts: int, half_life_ms: int) -> DecayedBag:
    """``bag`` with ``weight`` added to each of ``keys`` at time ``ts``: the same result as ``add`` once
    per key, with one copy of the values instead of one per key."""
    base: int = bag["b"]
    values: dict[str, float] = bag["v"]
    if not values:
        base = ts
        values = {}
    elif (ts - base) / half_life_ms > REBASE_AFTER_HALF_LIVES:
        shrink = 2.0 ** (-(ts - base) / half_life_ms)
        values = {k: v * shrink for k, v in values.items() if v * shrink > 1e-12}
        base = ts
    else:
        values = values.copy()
    inflated = weight * 2.0 ** ((ts - base) / half_life_ms)
    for key in keys:
        values[key] = values.get(key, 0.0) + inflated
    return {"b": base, "v": values}


def read(bag: DecayedBag, key: str, now: int, half_life_ms: int) -> float:
    """The decayed value of ``key`` at ``now`` (0 when never added); before the bag's base, its value at
    the base (read further back, later additions would be inflated, past floats for a late enough now)."""
    stored = bag["v"].get(key)
    if not stored:
        return 0.0
    return float(stored * 2.0 ** (-max(0, now - bag["b"]) / half_life_ms))


def read_all(bag: DecayedBag, now: int, half_life_ms: int) -> dict[str, float]:
    """Every key's decayed value at ``now`` (before the base: at the base, as ``read``)."""
    if not bag["v"]:
        return {}
    factor = 2.0 ** (-max(0, now - bag["b"]) / half_life_ms)
    return {key: value * factor for key, value in bag["v"].items()}
