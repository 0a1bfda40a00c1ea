"""Best send time: a decayed hour-of-week engagement histogram per contact, with a population prior.

The contact's histogram lives in its ml-state under ``"how"`` (a decayed bag keyed by the local hour of
the week as a string, half-life 28 days). The population prior is the same histogram summed over every
contact a worker sees (``PopulationPrior``, kept with the models); a contact with little history leans
on it, one with much history on its own. Neighbouring hours share evidence through a small circular
kernel, since a contact who opens at 9:00 is likely to open at 10:00 too.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from engine import decay
from ml.attributes import attribute_state, set_attributes
from ml.clock import DAY_MS, HOURS_PER_WEEK, hour_of_week, next_hour_start

HALF_LIFE_MS = 28 * DAY_MS
_SINGLE_LIMIT = 4096
PRIOR_STRENGTH = 3.0  # the prior counts as this many engagements
KERNEL = (0.25, 0.5, 1.0, 0.5, 0.25)  # weights of hours -2 .. +2
# the hours a contact's hour spreads to through KERNEL, in KERNEL's order
_NEAR = tuple(
    tuple((hour + k - len(KERNEL) // 2) % HOURS_PER_WEEK for k in range(len(KERNEL)))
    for hour in range(HOURS_PER_WEEK)
)
ENGAGEMENT_WEIGHTS = {
    "email.opened": 1.0,
    "email.clicked": 1.0,
    "link.clicked": 1.0,
    "push.opened": 1.0,
    "push.clicked": 1.0,
    "sms.clicked": 1.0,
    "email.replied": 1.0,
}
OTHER_ACTIVITY_WEIGHT = 0.25


def engagement_weight(event_type: str) -> float:
    """How much one activity event of this type says about when the contact pays attention."""
    return ENGAGEMENT_WEIGHTS.get(event_type, OTHER_ACTIVITY_WEIGHT)


def record(bag: decay.DecayedBag, hour: int, weight: float, ts: int) -> decay.DecayedBag:
    """The histogram with one engagement of ``weight`` at local hour-of-week ``hour`` at time ``ts``."""
    return decay.add(bag, str(hour), weight, ts, HALF_LIFE_MS)


def histogram(bag: decay.DecayedBag, now: int) -> list[float]:
    """The decayed histogram as 168 weights."""
    out = [0.0] * HOURS_PER_WEEK
    for key, value in decay.read_all(bag, now, HALF_LIFE_MS).items():
        out[int(key)] = value
    return out


class PriorView:
    """A fixed reading of the prior for ranking hours: its shares, its curve (the engagement curve of a
    contact without history) and the hours by that curve, best first; ``version`` names it."""

    def __init__(self, version: int, shares: list[float]) -> None:
        self.version = version
        self.shares = shares
        self.curve = engagement_curve(decay.empty_bag(), 0, shares)
        # a stable sort of the ascending hours: ties keep the earlier hour first, also in reverse
        self.order = sorted(range(HOURS_PER_WEEK), key=self.curve.__getitem__, reverse=True)
        # rankings of one-hour histograms read when their only entry was added (a contact's first
        # activity): the same for every contact with that hour and weight, so kept (bounded: 168 hours
        # times the few engagement weights)
        self.single: dict[tuple[str, float, int], list[int]] = {}

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt from what it was made of (the rest is derived, ``single`` a cache): by its constructor,
        # which a class compiled by mypyc needs (pickle's default calls it without arguments).
        return PriorView, (self.version, self.shares)


class PopulationPrior:
    """The engagement histogram of a whole population (a worker's contacts), decayed like a contact's.

    Updated in place for every activity event a worker sees, so it keeps 168 inflated floats and a base
    instead of a copied bag. ``view()`` is a cached reading for ranking hours. Every ``CHECK_EVERY``
    records it is looked at again: once the mass recorded since it was taken reaches ``RENEW`` times the
    mass it was taken from and the shares have moved by more than ``MOVE`` (L1), it is dropped and
    ``version`` goes up, so hints ranked against the old one are known to be stale. A small or young
    population moves its version often, a large settled one rarely."""

    CHECK_EVERY: ClassVar[int] = 512
    RENEW: ClassVar[float] = 0.25
    MOVE: ClassVar[float] = 0.02
    PICKLED: ClassVar[tuple[str, ...]] = ("base", "weights", "version", "_view", "_view_mass", "_unchecked")

    def __init__(self) -> None:
        self.base = 0
        self.weights = [0.0] * HOURS_PER_WEEK
        self.version = 0
        self._view: PriorView | None = None
        self._view_mass = 0.0  # sum of the weights when the view was taken (same inflated frame)
        self._unchecked = 0

    def __getstate__(self) -> dict[str, Any]:
        return attribute_state(self, self.PICKLED)

    def __setstate__(self, state: dict[str, Any]) -> None:
        # checkpoints written before views existed
        before_views = {"version": 0, "_view": None, "_view_mass": 0.0, "_unchecked": 0}
        set_attributes(self, {**before_views, **state}, self.PICKLED)

    def record(self, hour: int, weight: float, ts: int) -> None:
        if not self.base:
            self.base = ts
        elif (ts - self.base) / HALF_LIFE_MS > decay.REBASE_AFTER_HALF_LIVES:
            shrink = 2.0 ** (-(ts - self.base) / HALF_LIFE_MS)
            self.weights = [w * shrink for w in self.weights]
            self._view_mass *= shrink
            self.base = ts
        self.weights[hour] += weight * 2.0 ** ((ts - self.base) / HALF_LIFE_MS)
        self._unchecked += 1
        if self._unchecked >= self.CHECK_EVERY:
            self._unchecked = 0
            view = self._view
            if view is None or sum(self.weights) - self._view_mass < self.RENEW * self._view_mass:
                return
            if sum(map(_distance, self.shares(), view.shares)) > self.MOVE:
                self._view = None
                self.version += 1

    def shares(self) -> list[float]:
        """168 shares summing to 1 (uniform when nothing was seen); decay cancels out in a share."""
        total = sum(self.weights)
        if total <= 0:
            return [1.0 / HOURS_PER_WEEK] * HOURS_PER_WEEK
        return [w / total for w in self.weights]

    def view(self) -> PriorView:
        """The current cached reading (taken now if there is none)."""
        if self._view is None:
            self._view = PriorView(self.version, self.shares())
            self._view_mass = sum(self.weights)
        return self._view


def _distance(a: float, b: float) -> float:
    return abs(a - b)


def engagement_curve(bag: decay.DecayedBag, now: int, prior: list[float] | None) -> list[float]:
    """The contact's smoothed hour-of-week engagement: its histogram plus ``PRIOR_STRENGTH`` times the
    prior shares (uniform when no prior), convolved with ``KERNEL``."""
    own = histogram(bag, now)
    shares = prior if prior is not None else [1.0 / HOURS_PER_WEEK] * HOURS_PER_WEEK
    mixed = [own[h] + PRIOR_STRENGTH * shares[h] for h in range(HOURS_PER_WEEK)]
    reach = len(KERNEL) // 2
    return [
        sum(KERNEL[k + reach] * mixed[(h + k) % HOURS_PER_WEEK] for k in range(-reach, reach + 1))
        for h in range(HOURS_PER_WEEK)
    ]


def best_hour(curve: list[float], now_hour: int, horizon_hours: int) -> int:
    """The hour of the week with the highest curve value among the ``horizon_hours`` starting now
    (ties go to the earliest)."""
    span = max(1, min(horizon_hours, HOURS_PER_WEEK))
    best = now_hour
    for k in range(1, span):
        hour = (now_hour + k) % HOURS_PER_WEEK
        if curve[hour] > curve[best]:
            best = hour
    return best


def best_send_time(
    ml_state: dict[str, object] | None,
    tz: str,
    now: int,
    *,
    prior: list[float] | None = None,
    horizon_hours: int = 24,
) -> int:
    """The next epoch ms (>= ``now``, within ``horizon_hours``) at the start of the local hour in which
    this contact is most likely to engage; ``now`` itself when that hour is the current one."""
    bag = (ml_state or {}).get("how")
    contact_bag: decay.DecayedBag = bag if isinstance(bag, dict) else decay.empty_bag()
    curve = engagement_curve(contact_bag, now, prior)
    target = best_hour(curve, hour_of_week(now, tz), horizon_hours)
    return next_hour_start(now, tz, target, horizon_hours)


def ranked_hours(
    ml_state: dict[str, object] | None, now: int, *, prior: list[float] | None = None, top: int = 24
) -> list[int]:
    """The contact's ``top`` local hours of the week by its engagement curve, best first (ties: earlier
    hour first).

    Plain data for a pure consumer: the engine's ``wait until best_send_time`` takes the first ranked
    hour inside its horizon without importing ml (ml.hints stores this list with the contact)."""
    bag = (ml_state or {}).get("how")
    contact_bag: decay.DecayedBag = bag if isinstance(bag, dict) else decay.empty_bag()
    shares = prior if prior is not None else [1.0 / HOURS_PER_WEEK] * HOURS_PER_WEEK
    return ranked_hours_in(contact_bag, now, PriorView(0, shares), top)


def ranked_hours_in(bag: decay.DecayedBag, now: int, view: PriorView, top: int = 24) -> list[int]:
    """``ranked_hours`` against a prior view, in time proportional to the contact's own hours: the
    curve is the prior's (``view.curve``) plus the kernel-smoothed own histogram, which only touches the
    hours near the contact's, so only those and the prior's best untouched hours can rank. Equal to
    ranking ``engagement_curve`` (to rounding: its sums are added in another order)."""
    stored: dict[str, float] = bag["v"]
    if not stored:
        return view.order[:top]
    if len(stored) == 1 and now == bag["b"]:
        ((key, value),) = stored.items()
        cached = view.single.get((key, value, top))
        if cached is None:
            if len(view.single) >= _SINGLE_LIMIT:
                view.single.clear()
            cached = view.single[(key, value, top)] = _ranked(stored, 1.0, view, top)
        return list(cached)
    return _ranked(stored, 2.0 ** (-(now - bag["b"]) / HALF_LIFE_MS), view, top)


def _ranked(stored: dict[str, float], factor: float, view: PriorView, top: int) -> list[int]:
    """The ranking of the histogram ``stored`` read with decay ``factor`` against ``view``."""
    values = view.curve.copy()
    touched: set[int] = set()
    for key, inflated in stored.items():
        own = inflated * factor
        near = _NEAR[int(key)]
        touched.update(near)
        for hour, weight in zip(near, KERNEL, strict=True):
            values[hour] += weight * own
    if len(touched) + top >= HOURS_PER_WEEK:
        candidates: Iterable[int] = range(HOURS_PER_WEEK)
    else:  # at most len(touched) of the prior's best len(touched) + top hours are touched
        candidates = sorted(touched.union(view.order[: len(touched) + top]))
    return sorted(candidates, key=values.__getitem__, reverse=True)[:top]
