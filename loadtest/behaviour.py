"""One contact's life, planned on the behaviour clock: latent traits, then signup, sessions, carts,
purchases and going quiet.

Times here are milliseconds after the story's start (its epoch is an absolute time, so local hours can
be computed); loadtest.generator maps them onto the stream's timestamps. Every draw comes from the
``random.Random`` handed in, so a contact's life depends only on its own seed and the activity level.

Sessions are a Poisson process whose intensity follows ``Traits.affinity`` of the local hour of the
week (drawn by thinning), at ``activity * (0.2 + 1.8 * engage)`` sessions per day on average. A session
starts from an email (opened, maybe clicked) or a visit; visits may reach the pricing page, which makes
a cart likely; a cart may be bought minutes to days later. Churners stop at a time drawn from their
churn propensity (and sometimes unsubscribe then).
"""

from __future__ import annotations

import math
import random
from datetime import datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from engine.durations import DAY, HOUR, MINUTE, SECOND
from loadtest.kafka_bench import CAMPAIGNS, FIRST_NAMES, MAIL_CLIENTS, PAGES
from loadtest.truth import HOURS_PER_DAY, Traits

# (IANA timezone, country, region, weight)
TIMEZONES: tuple[tuple[str, str, str, int], ...] = (
    ("Europe/Berlin", "DE", "emea", 16),
    ("Europe/Paris", "FR", "emea", 10),
    ("Europe/London", "GB", "emea", 12),
    ("America/New_York", "US", "na", 18),
    ("America/Chicago", "US", "na", 8),
    ("America/Los_Angeles", "US", "na", 10),
    ("America/Sao_Paulo", "BR", "latam", 6),
    ("Asia/Kolkata", "IN", "apac", 8),
    ("Asia/Tokyo", "JP", "apac", 6),
    ("Australia/Sydney", "AU", "apac", 6),
)
WEEKDAY_WEIGHTS = (10, 11, 11, 10, 9, 5, 5)  # Monday .. Sunday
HOUR_WEIGHTS = (1, 1, 1, 1, 1, 2, 4, 8, 12, 12, 10, 8, 10, 9, 8, 7, 7, 8, 9, 11, 12, 10, 6, 3)
SOURCES = (("signup", 60), ("import", 15), ("webinar", 15), ("referral", 10))
LISTS = (("leads", 45), ("drip", 35), ("news", 20))
TEMPLATES = (("newsletter", 70), ("product_update", 15), ("nurture_welcome", 8), ("nurture_value", 7))
FEATURES = ("editor", "reports", "automation", "integrations", "api")
FORMS = (("demo_request", 40), ("contact", 35), ("webinar", 25))
SIGNUP_SHARE = 0.75  # contacts sign up during the first 75% of the story
LIFETIME_DAYS = (5.0, 120.0)  # mean days until going quiet: first + second * (1 - churn) ** 2
LOCAL_STEP = 15 * MINUTE  # local-time cache granularity: every zone offset is a multiple of it


class Planned(NamedTuple):
    t: int  # ms after the story's start
    seq: int  # order among the contact's events at the same t
    type: str
    properties: dict[str, Any]
    optional: bool  # may be dropped to meet the event count without changing the ground truth


class Plan(NamedTuple):
    traits: Traits
    signup: int
    quiet_at: int | None  # churned: nothing after this (ms after the story's start)
    events: list[Planned]


def weighted(rng: random.Random, table: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([name for name, _ in table], [weight for _, weight in table])[0]


def draw_traits(rng: random.Random) -> Traits:
    engage = rng.betavariate(2, 3)
    convert = min(1.0, rng.betavariate(1.3, 5) * (0.5 + engage))
    churn = min(1.0, rng.betavariate(2, 4) * (1.6 - engage))
    zone = rng.choices(TIMEZONES, [row[3] for row in TIMEZONES])[0][0]
    day = rng.choices(range(7), WEEKDAY_WEIGHTS)[0]
    hour = rng.choices(range(HOURS_PER_DAY), HOUR_WEIGHTS)[0]
    spread = round(rng.uniform(1.0, 3.0), 2)
    return Traits(round(engage, 4), round(convert, 4), round(churn, 4), zone, day * 24 + hour, spread)


class LocalClock:
    """Local hour of the week (fractional, to the quarter hour) of absolute times, cached per timezone
    and quarter hour."""

    def __init__(self) -> None:
        self.zones: dict[str, ZoneInfo] = {}
        self.cache: dict[tuple[str, int], float] = {}

    def hour_of_week(self, epoch_ms: int, timezone: str) -> float:
        key = (timezone, epoch_ms // LOCAL_STEP)
        found = self.cache.get(key)
        if found is None:
            zone = self.zones.get(timezone) or self.zones.setdefault(timezone, ZoneInfo(timezone))
            local = datetime.fromtimestamp(key[1] * LOCAL_STEP / 1000, zone)
            found = self.cache[key] = local.weekday() * 24 + local.hour + local.minute / 60
        return found


class LifePlanner:
    """Plans the events of one contact; ``plan()`` is the entry point."""

    def __init__(
        self,
        rng: random.Random,
        contact_id: str,
        traits: Traits,
        epoch_ms: int,
        span_ms: int,
        clock: LocalClock,
    ) -> None:
        self.rng = rng
        self.contact_id = contact_id
        self.traits = traits
        self.epoch_ms = epoch_ms
        self.span_ms = span_ms
        self.clock = clock
        self.end = span_ms
        self.events: list[Planned] = []
        self.carts = 0
        self.country, self.region = next((c, r) for zone, c, r, _ in TIMEZONES if zone == traits.timezone)

    def add(self, t: int, event_type: str, properties: dict[str, Any], optional: bool = False) -> bool:
        if t >= self.end:
            return False
        self.events.append(Planned(t, len(self.events), event_type, properties, optional))
        return True

    def plan(self, activity: float) -> Plan:
        rng, traits = self.rng, self.traits
        signup = int(rng.random() * self.span_ms * SIGNUP_SHARE)
        lifetime_days = LIFETIME_DAYS[0] + LIFETIME_DAYS[1] * (1 - traits.churn) ** 2
        quits = signup + int(rng.expovariate(1 / lifetime_days) * DAY)
        quiet_at = quits if quits < self.span_ms else None
        unsubscribes = rng.random() < 0.2
        if quiet_at is not None:
            self.end = quiet_at + 1
        self.signup(signup)
        self.sessions(signup, activity)
        self.events.sort(key=lambda e: (e.t, e.seq))
        if quiet_at is not None and unsubscribes:  # the very last word, after anything at the same ms
            self.events.append(
                Planned(quiet_at, len(self.events), "unsubscribed", {"reason": "too_many_emails"}, False)
            )
        return Plan(traits, signup, quiet_at, self.events)

    def signup(self, t: int) -> None:
        rng = self.rng
        name = rng.choice(FIRST_NAMES)
        self.add(
            t,
            "contact.added",
            {
                "email": f"{name.lower()}.{self.contact_id}@example.com",
                "first_name": name,
                "timezone": self.traits.timezone,
                "country": self.country,
                "source": weighted(rng, SOURCES),
                "lifecycle": "lead",
                "plan": rng.choice(("free", "trial")),
            },
        )
        if rng.random() < 0.5:
            self.add(t + rng.randrange(SECOND, 10 * MINUTE), "list.joined", {"list": weighted(rng, LISTS)})

    def sessions(self, signup: int, activity: float) -> None:
        """Sessions from signup to the end, by thinning a Poisson process at the peak intensity."""
        rng, traits = self.rng, self.traits
        per_day = activity * (0.2 + 1.8 * traits.engage)
        if per_day <= 0:
            return
        peak, mean = traits.peak_affinity(), traits.mean_affinity()
        candidate_rate = per_day * peak / mean / DAY  # candidates per ms
        t = signup
        while True:
            t += max(1, int(rng.expovariate(candidate_rate)))
            if t >= self.end:
                return
            hour = self.clock.hour_of_week(self.epoch_ms + t, traits.timezone)
            if rng.random() * peak < traits.affinity(hour + LOCAL_STEP / HOUR / 2):
                self.session(t)

    def session(self, t: int) -> None:
        rng, traits = self.rng, self.traits
        landing: str | None = None
        if rng.random() < 0.45 + 0.3 * traits.engage:
            campaign = rng.choice(CAMPAIGNS)
            template = weighted(rng, TEMPLATES)
            clicked = rng.random() < 0.15 + 0.5 * traits.engage
            opened = {"campaign_id": campaign, "template": template, "client": rng.choice(MAIL_CLIENTS)}
            self.add(t, "email.opened", opened, optional=not clicked)
            if rng.random() < 0.03 * traits.engage:
                self.add(t + rng.randrange(MINUTE, HOUR), "email.replied", {"campaign_id": campaign})
            if not clicked:
                return
            t += rng.randrange(5 * SECOND, 5 * MINUTE)
            landing = self.page(rng, pricing_bias=0.6)
            url = f"https://example.com/{landing}?utm_campaign={campaign}"
            self.add(t, "email.clicked", {"campaign_id": campaign, "template": template, "url": url})
        elif rng.random() < 0.1:
            landing = self.page(rng, pricing_bias=0.4)
            self.add(t, "link.clicked", {"url": f"https://example.com/{landing}", "source": "social"})
        self.visit(t + rng.randrange(SECOND, 30 * SECOND), landing)

    def page(self, rng: random.Random, pricing_bias: float) -> str:
        if rng.random() < 0.08 + pricing_bias * self.traits.convert:
            return "pricing"
        return rng.choice(PAGES)

    def visit(self, t: int, landing: str | None) -> None:
        rng, traits = self.rng, self.traits
        saw_pricing = False
        pages = 1 + int(rng.expovariate(0.7))
        for index in range(pages):
            page = landing if index == 0 and landing else self.page(rng, pricing_bias=0.5)
            saw_pricing = saw_pricing or page == "pricing"
            properties = {"page": page.split("/")[0], "url": f"https://example.com/{page}"}
            self.add(t, "page.viewed", properties, optional=page != "pricing")
            t += rng.randrange(10 * SECOND, 3 * MINUTE)
        if rng.random() < 0.1 + 0.6 * traits.engage:
            self.add(t, "product.used", {"feature": rng.choice(FEATURES)}, optional=True)
        if rng.random() < 0.01 + 0.05 * traits.convert:
            form = weighted(rng, FORMS)
            self.add(t + rng.randrange(MINUTE), "form.submitted", {"form": form, "region": self.region})
        cart_chance = (0.15 + 0.6 * traits.convert) if saw_pricing else 0.04 * traits.convert
        if rng.random() < cart_chance:
            self.cart(t + rng.randrange(30 * SECOND, 5 * MINUTE))

    def cart(self, t: int) -> None:
        rng, traits = self.rng, self.traits
        self.carts += 1
        cart_id = f"{self.contact_id}-k{self.carts}"
        value = round(min(2000.0, rng.lognormvariate(4.2, 0.7)), 2)
        if not self.add(t, "cart.created", {"cart_id": cart_id, "value": value, "currency": "EUR"}):
            return
        if rng.random() >= 0.15 + 0.75 * traits.convert:
            return  # abandoned
        if rng.random() < 0.5:
            paid = t + rng.randrange(MINUTE, 30 * MINUTE)
        else:
            paid = t + int(HOUR * math.exp(rng.uniform(0, math.log(96))))  # 1 h .. 4 days, log-uniform
        order = {
            "cart_id": cart_id,
            "order_id": f"{self.contact_id}-o{self.carts}",
            "amount": value,
            "currency": "EUR",
        }
        if self.add(paid, "purchase", order) and rng.random() < 0.2 + 0.3 * traits.engage:
            rating = min(5, max(1, round(rng.gauss(3 + 2 * traits.engage, 1))))
            self.add(
                paid + rng.randrange(3 * DAY, 20 * DAY),
                "review.submitted",
                {"order_id": order["order_id"], "rating": rating},
            )
