"""Best send time: a decayed hour-of-week engagement histogram per contact, with a population prior.

The contact's histogram lives in its ml-state under ``"how"`` (a decayed bag keyed by the local hour of
the week as a string, half-life 28 days). The population prior is the same histogram summed over every
contact a worker sees (``PopulationPrior``, kept with the models); a contact with little history leans
on it, one with much history on its own. Neighbouring hours share evidence through a small circular
kernel, since a contact who opens at 9:00 is likely to open at 10:00 too.
"""

from __future__ import annotations

from ml import decay
from ml.clock import DAY_MS, HOURS_PER_WEEK, hour_of_week, next_hour_start

HALF_LIFE_MS = 28 * DAY_MS
PRIOR_STRENGTH = 3.0  # the prior counts as this many engagements
KERNEL = (0.25, 0.5, 1.0, 0.5, 0.25)  # weights of hours -2 .. +2
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


class PopulationPrior:
    """The engagement histogram of a whole population (a worker's contacts), decayed like a contact's.

    Updated in place for every activity event a worker sees, so it keeps 168 inflated floats and a base
    instead of a copied bag."""

    def __init__(self) -> None:
        self.base = 0
        self.weights = [0.0] * HOURS_PER_WEEK

    def record(self, hour: int, weight: float, ts: int) -> None:
        if not self.base:
            self.base = ts
        elif (ts - self.base) / HALF_LIFE_MS > decay.REBASE_AFTER_HALF_LIVES:
            shrink = 2.0 ** (-(ts - self.base) / HALF_LIFE_MS)
            self.weights = [w * shrink for w in self.weights]
            self.base = ts
        self.weights[hour] += weight * 2.0 ** ((ts - self.base) / HALF_LIFE_MS)

    def shares(self) -> list[float]:
        """168 shares summing to 1 (uniform when nothing was seen); decay cancels out in a share."""
        total = sum(self.weights)
        if total <= 0:
            return [1.0 / HOURS_PER_WEEK] * HOURS_PER_WEEK
        return [w / total for w in self.weights]


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
    """The contact's ``top`` local hours of the week, best first (ties: earlier hour first).

    Plain data for a pure consumer: the engine's ``wait until best_send_time`` can take the first
    ranked hour inside its horizon without importing ml (the runtime stores this list with the contact)."""
    bag = (ml_state or {}).get("how")
    contact_bag: decay.DecayedBag = bag if isinstance(bag, dict) else decay.empty_bag()
    curve = engagement_curve(contact_bag, now, prior)
    return sorted(range(HOURS_PER_WEEK), key=lambda h: (-curve[h], h))[:top]
