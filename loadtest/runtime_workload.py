"""Traffic for the runtime benchmark: every contact's first sight, a mixed stream, and paced events.

Pure and deterministic for a seed and a clock value `now_ms` (the benchmark passes the wall clock once).

- first sight: one `contact.added` per contact, stamped in the hour before `now_ms`; it arms the timed
  triggers of the 20 benchmark workflows (inactivity, schedule, contact date) for every contact;
- the mixed stream: about three quarters of it matches no trigger; some events start runs (cart.created,
  page.viewed pricing, form.submitted, document.requested, purchase, ...); follow-ups later in the stream
  resolve the waits of runs started earlier (a purchase of the same cart, the signature of the same
  document, the completion of the same task); a few run-starting events are *backdated* so that their
  first wait is already due and its timer fires during the run. The rest is stamped in the
  `span_ms` before `now_ms`, so its waits (2 h and longer) stay pending;
- paced events: one per distinct existing contact, for the latency phase (a key identifies its event).

Why the dues avoid the benchmark's own lifetime: a timer is due either at least 30 minutes before
`now_ms` (backdated waits) or more than an hour after it (the shortest wait, 2 h, minus `span_ms`).
So the set of timers that fire does not depend on when, or with how many workers, the stream is
processed, and the actions must be the same for 1 and 2 workers. The exception is quiet hours: an
email of pricing_page_follow_up / drip_campaign stamped between 21:00 and 08:00 UTC is delayed to
08:00, which can fall into a run started shortly before 08:00 UTC; the benchmark reports such timers.
"""

from __future__ import annotations

import heapq
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from engine.durations import DAY, HOUR, MINUTE
from loadtest.kafka_bench import Record, contact_id, encode_event

# (event type, weight) of the mixed stream; follow-ups come on top.
MIX: tuple[tuple[str, int], ...] = (
    ("app.heartbeat", 250), ("product.viewed", 170), ("search.performed", 90), ("email.sent", 90),
    ("session.started", 50), ("email.opened", 60), ("email.clicked", 20), ("page.viewed", 60),
    ("link.clicked", 20), ("cart.created", 25), ("purchase", 15), ("form.submitted", 15),
    ("document.requested", 10), ("task.created", 10), ("list.joined", 10), ("contact.updated", 20),
    ("predicted.churn_risk", 10), ("predicted.likely_to_convert", 5), ("webhook.received", 10),
    ("email.replied", 5), ("product.used", 10), ("review.submitted", 5), ("crm.updated", 5),
    ("email.bounced", 5),
)  # fmt: skip
# origin type -> (probability, follow-up type, the property both share)
FOLLOW_UPS: dict[str, tuple[float, str, str]] = {
    "cart.created": (0.5, "purchase", "cart_id"),
    "document.requested": (0.4, "document.signed", "document_id"),
    "task.created": (0.3, "task.completed", "task_id"),
}
FOLLOW_UP_DELAY = (200, 20_000)  # in events of the stream
# origin type -> (probability, the first wait of the run it starts): backdated by that wait + 30..90 min
BACKDATED: dict[str, tuple[float, int]] = {
    "cart.created": (0.15, 2 * HOUR),  # abandoned_cart: wait_2h
    "form.submitted": (0.15, DAY),  # task_automation: wait_done, timeout 1d
    "document.requested": (0.15, 3 * DAY),  # document_workflow: wait_signed, timeout 3d
}
BACKDATE_MARGIN_MIN = (30, 90)
FIRST_SIGHT_WINDOW_MS = HOUR
DEFAULT_SPAN_MS = 10 * MINUTE

PAGES = ("home", "pricing", "docs", "blog", "features", "customers")
FIRST_NAMES = ("Ada", "Bruno", "Chiara", "Dmitri", "Elif", "Farah", "Gustav", "Hana", "Ivo", "Jonas")


@dataclass(frozen=True)
class Workload:
    now_ms: int
    first_sight: list[Record]
    mixed: list[Record]
    paced: list[Record]
    types: Counter[str] = field(default_factory=Counter)
    backdated: int = 0
    follow_ups: int = 0

    def summary(self) -> dict[str, Any]:
        return {
            "now_ms": self.now_ms, "first_sight": len(self.first_sight), "mixed": len(self.mixed),
            "paced": len(self.paced), "backdated": self.backdated, "follow_ups": self.follow_ups,
            "types": dict(self.types.most_common()),
        }  # fmt: skip


def first_sight_properties(rng: random.Random, contact: str, ts: int) -> dict[str, Any]:
    name = rng.choice(FIRST_NAMES)
    props: dict[str, Any] = {
        "email": f"{name.lower()}.{contact}@example.com",
        "first_name": name,
        "source": rng.choice(("signup", "signup", "import", "webinar", "referral")),
        "lifecycle": rng.choice(("lead", "lead", "customer")),
        "plan": rng.choice(("free", "trial", "pro")),
    }
    if rng.random() < 0.2:
        props["renewal_date"] = ts + rng.randint(10, 60) * DAY  # variant_4: 7 days before it
    if rng.random() < 0.3:
        props["owner"] = f"rep{rng.randrange(20)}"
    return props


def properties(etype: str, rng: random.Random, serial: int, ts: int) -> dict[str, Any]:
    """Plausible properties for one event type of MIX (ids made unique by the stream position)."""
    if etype == "cart.created":
        return {"cart_id": f"cart-{serial}", "value": rng.randrange(5, 500)}
    if etype == "purchase":
        return {"cart_id": f"cart-x{serial}", "order_id": f"ord-{serial}", "amount": rng.randrange(5, 500)}
    if etype == "page.viewed":
        page = "pricing" if rng.random() < 0.25 else rng.choice(PAGES)
        return {"page": page, "url": f"https://example.com/{page}"}
    if etype == "link.clicked":
        page = "pricing" if rng.random() < 0.3 else rng.choice(PAGES)
        return {"url": f"https://example.com/{page}?utm_source=newsletter"}
    if etype == "form.submitted":
        form = "demo_request" if rng.random() < 0.5 else rng.choice(("contact", "newsletter"))
        return {"form": form, "region": rng.choice(("emea", "amer", "apac"))}
    if etype == "document.requested":
        return {"document_id": f"doc-{serial}", "deal_id": f"deal-{serial}", "template": "contract"}
    if etype == "task.created":
        return {"task_id": f"task-{serial}", "title": "Follow up", "assignee": f"rep{rng.randrange(20)}",
                "due_at": ts + rng.randint(2, 5) * DAY}  # fmt: skip
    if etype == "list.joined":
        return {"list": rng.choice(("leads", "drip", "news"))}
    if etype == "contact.updated":
        return {"score": rng.randrange(100), "plan": rng.choice(("free", "pro"))}
    if etype.startswith("predicted."):
        return {"score": round(rng.random(), 3)}
    if etype == "webhook.received":
        return {"source": rng.choice(("stripe", "github", "zapier")), "kind": "invoice.paid"}
    if etype == "review.submitted":
        return {"rating": rng.randint(1, 5)}
    if etype == "crm.updated":
        return {"stage": rng.choice(("lead", "qualified", "won", "lost"))}
    if etype == "email.bounced":
        return {"kind": rng.choice(("hard", "soft"))}
    if etype in ("email.opened", "email.clicked", "email.sent", "email.replied"):
        return {"campaign_id": f"cmp-{rng.randrange(24):03d}",
                "template": rng.choice(("newsletter", "nurture_welcome", "nurture_value"))}  # fmt: skip
    return {"n": rng.randrange(10), "source": rng.choice(("web", "ios", "android"))}


def first_sight_stream(n_contacts: int, now_ms: int, rng: random.Random, prefix: str) -> list[Record]:
    start = now_ms - FIRST_SIGHT_WINDOW_MS
    out: list[Record] = []
    for index in range(n_contacts):
        contact = contact_id(prefix, index)
        ts = start + index * (FIRST_SIGHT_WINDOW_MS - DEFAULT_SPAN_MS) // n_contacts
        props = first_sight_properties(rng, contact, ts)
        value = encode_event(f"{prefix}f{index:08d}", contact, "contact.added", ts, props)
        out.append((contact.encode(), value))
    return out


def generate_workload(
    n_events: int, n_contacts: int, n_paced: int, *, now_ms: int, seed: int = 7, prefix: str = "rc",
    span_ms: int = DEFAULT_SPAN_MS,
) -> Workload:  # fmt: skip
    if n_events < 0 or n_contacts <= 0 or not 0 <= n_paced <= n_contacts:
        raise ValueError("need n_events >= 0, n_contacts > 0 and 0 <= n_paced <= n_contacts")
    rng = random.Random(seed)
    first_sight = first_sight_stream(n_contacts, now_ms, rng, prefix)
    types = [t for t, _ in MIX]
    weights = [w for _, w in MIX]
    counts: Counter[str] = Counter()
    # follow-ups to come: (serial due, origin serial, contact index, type, properties)
    pending: list[tuple[int, int, int, str, dict[str, Any]]] = []
    mixed: list[Record] = []
    backdated = follow_ups = 0
    for serial in range(n_events):
        ts = now_ms - span_ms + serial * span_ms // max(1, n_events)
        if pending and pending[0][0] <= serial:
            _, _, index, etype, props = heapq.heappop(pending)
            follow_ups += 1
        else:
            index = rng.randrange(n_contacts)
            etype = rng.choices(types, weights)[0]
            props = properties(etype, rng, serial, ts)
            if etype in FOLLOW_UPS and rng.random() < FOLLOW_UPS[etype][0]:
                _, then, shared = FOLLOW_UPS[etype]
                later = serial + rng.randint(*FOLLOW_UP_DELAY)
                then_props: dict[str, Any] = {shared: props[shared]}
                if then == "purchase":
                    then_props |= {"order_id": f"ord-{serial}", "amount": props["value"]}
                heapq.heappush(pending, (later, serial, index, then, then_props))
            if etype in BACKDATED and rng.random() < BACKDATED[etype][0]:
                ts -= BACKDATED[etype][1] + rng.randint(*BACKDATE_MARGIN_MIN) * MINUTE
                backdated += 1
        counts[etype] += 1
        contact = contact_id(prefix, index)
        mixed.append((contact.encode(), encode_event(f"{prefix}m{serial:09d}", contact, etype, ts, props)))
    paced: list[Record] = []
    for serial, index in enumerate(rng.sample(range(n_contacts), n_paced)):
        contact = contact_id(prefix, index)
        etype = rng.choices(types, weights)[0]
        ts = now_ms + serial
        props = properties(etype, rng, n_events + serial, ts)
        paced.append((contact.encode(), encode_event(f"{prefix}p{serial:08d}", contact, etype, ts, props)))
    return Workload(now_ms, first_sight, mixed, paced, counts, backdated, follow_ups)
