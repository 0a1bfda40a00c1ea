"""Ground truth of a generated contact: the latent traits that drove it and what it really did.

Plain frozen dataclasses, so the ML benchmarks can read them as data (``as_dict``). Hours of the week
are local to the contact's timezone, 0 = Monday 00:00-00:59, 167 = Sunday 23:00-23:59.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

HOURS_PER_WEEK = 168
HOURS_PER_DAY = 24
AFFINITY_FLOOR = 0.15  # engagement at any hour, relative to the peak bump of 1
DAILY_ECHO = 0.5  # the best hour of day on the other days of the week
# Content topics of streams generated with topics (StreamSpec.topics, loadtest/content.py).
TOPICS = ("travel", "food", "garden", "tech", "fitness", "finance")
TOPIC_CLICK_FLOOR = 0.2  # click chance of the least liked topic, relative to the most liked one


def circular_distance(a: float, b: float, period: float) -> float:
    gap = abs(a - b) % period
    return min(gap, period - gap)


@dataclass(frozen=True)
class Traits:
    """Latent, never observed directly: behaviour is drawn from these."""

    engage: float  # 0..1 propensity to open, click, visit and use the product
    convert: float  # 0..1 propensity to look at pricing, fill carts and buy them
    churn: float  # 0..1 propensity to go quiet soon
    timezone: str  # IANA name
    best_hour_of_week: int  # local hour of the week at which the contact engages most
    hour_spread: float  # hours: how tightly engagement clusters around the best hour
    # share of the contact's interest per topic of TOPICS (sums to 1); empty for a stream without topics
    topic_taste: tuple[float, ...] = ()

    def affinity(self, hour_of_week: float) -> float:
        """Relative engagement intensity at a local hour of the week; the maximum is at the best hour.

        A bump around the best hour of the week, an echo of it at the same hour on the other days, and a
        floor. The send-time experiment can use this as the true response curve.
        """
        bump = 2 * self.hour_spread**2
        weekly = circular_distance(hour_of_week, self.best_hour_of_week, HOURS_PER_WEEK)
        daily = circular_distance(hour_of_week, self.best_hour_of_week, HOURS_PER_DAY)
        return AFFINITY_FLOOR + math.exp(-(weekly**2) / bump) + DAILY_ECHO * math.exp(-(daily**2) / bump)

    def peak_affinity(self) -> float:
        return self.affinity(self.best_hour_of_week)

    def email_click(self, topic: str | None) -> float:
        """True chance that the contact clicks an email about ``topic`` (None: generic content, which
        appeals as much as the mean topic). The chance of a click on an opened email (as the behaviour
        draws it), scaled from TOPIC_CLICK_FLOOR for the least liked topic to 1 for the most liked."""
        base = 0.15 + 0.5 * self.engage
        if not self.topic_taste:
            return base
        top = max(self.topic_taste)
        if topic is None:
            liking = sum(self.topic_taste) / len(self.topic_taste) / top
        else:
            liking = self.topic_taste[TOPICS.index(topic)] / top
        return base * (TOPIC_CLICK_FLOOR + (1 - TOPIC_CLICK_FLOOR) * liking)

    def mean_affinity(self) -> float:
        """Mean over the week; it depends on the spread only (the bumps are circular)."""
        return _mean_affinity(self.hour_spread)


@lru_cache(maxsize=1024)
def _mean_affinity(hour_spread: float) -> float:
    centred = Traits(0.0, 0.0, 0.0, "UTC", 0, hour_spread)
    return sum(centred.affinity(hour + 0.5) for hour in range(HOURS_PER_WEEK)) / HOURS_PER_WEEK


@dataclass(frozen=True)
class ContactTruth:
    """What the generator knows about one contact. Times are event times (``ts``) of the stream; day
    counts are behaviour days (equal to event-time days in a real-time stream)."""

    contact_id: str
    traits: Traits
    signup_ms: int  # ts of its contact.added
    churned: bool  # went quiet for good before the end of the story
    quiet_from_ms: int | None  # churned: no event of the contact is later than this ts
    purchase_ms: tuple[int, ...]  # ts of each purchase in the stream
    purchase_days: tuple[float, ...]  # behaviour days from signup to each purchase
    carts: int  # cart.created events in the stream
    events: int  # events of the contact in the stream
    will_convert: bool  # bought within the stream's conversion window of its signup

    def converts_within(self, days: float, since_days: float = 0.0) -> bool:
        """True if it bought within ``days`` after ``since_days`` (behaviour days from signup)."""
        return any(since_days <= day <= since_days + days for day in self.purchase_days)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
