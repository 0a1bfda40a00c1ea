"""Benchmark of engine.step(): calls per second and latency percentiles on a realistic mix.

21 workflows (the 12 examples of examples/workflows plus 9 variants with other trigger kinds) over
100k contacts; most events match no trigger. The ML-assisted example is left out: its channel and hour
come from each worker's model hints, so 1- and 2-worker runs would not emit comparable actions.
Due timers are delivered back as timer.fired events, as the runtime does.

    .venv/bin/python -m loadtest.step_bench [--contacts 100000] [--events 600000] [--seed 7]
"""

from __future__ import annotations

import argparse
import heapq
import random
import time
from pathlib import Path
from typing import Any

import orjson
import yaml

from engine.step import step
from engine.types import ContactState, Event
from engine.workflows import WorkflowSet
from loadtest.percentiles import percentile

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "workflows"
T0 = 1_767_261_600_000
ML_ASSISTED = frozenset({"best_time_nudge"})
SEND = {
    "a": {"type": "action", "action": "send_email", "params": {"template": "x"}, "next": "w"},
    "w": {"type": "wait", "duration": "1d", "next": "b"},
    "b": {"type": "action", "action": "notify", "params": {"team": "sales", "reason": "alert"}},
}
VARIANT_TRIGGERS: list[Any] = [
    {"condition": "contact.score >= 80"},
    {"score": "churn_risk", "above": 0.7},
    {"score": "likely_to_convert", "above": 0.8},
    {"event": "webhook.received", "filter": "event.source == 'stripe'"},
    {"date": "contact.renewal_date", "before": "7d"},
    {"event": "email.bounced", "filter": "event.kind == 'hard'"},
    {"event": "crm.updated", "filter": "contact.stage == 'won'"},
    {"event": "review.submitted", "filter": "event.rating <= 2"},
    {"schedule": "0 9 1 * *", "filter": "'vip' in contact.tags"},
]
# (event type, weight): ~75% of events are types no workflow is triggered by.
MIX: list[tuple[str, int]] = [
    ("app.heartbeat", 30),
    ("product.viewed", 20),
    ("search.performed", 10),
    ("email.sent", 10),
    ("session.started", 5),
    ("page.viewed", 6),
    ("email.opened", 5),
    ("email.clicked", 2),
    ("link.clicked", 2),
    ("cart.created", 1),
    ("purchase", 1),
    ("list.joined", 1),
    ("contact.updated", 2),
    ("form.submitted", 1),
    ("product.used", 1),
    ("webhook.received", 1),
    ("predicted.churn_risk", 1),
    ("task.created", 1),
]


def definitions() -> list[dict[str, Any]]:
    found = [yaml.safe_load(path.read_text()) for path in sorted(EXAMPLES.glob("*.yaml"))]
    found = [definition for definition in found if definition["id"] not in ML_ASSISTED]
    for index, trigger in enumerate(VARIANT_TRIGGERS):
        found.append(
            {
                "id": f"variant_{index}",
                "version": 1,
                "status": "published",
                "trigger": trigger,
                "settings": {"reentry": "after 30d"},
                "start": "a",
                "nodes": SEND,
            }
        )
    return found


def properties(event_type: str, rng: random.Random, now: int) -> dict[str, Any]:
    if event_type == "cart.created" or event_type == "purchase":
        return {"cart_id": f"k{rng.randrange(3)}", "amount": rng.randrange(5, 500)}
    if event_type == "page.viewed":
        return {"page": rng.choice(["home", "docs", "pricing", "blog"])}
    if event_type == "link.clicked":
        return {"url": rng.choice(["https://x.io/pricing", "https://x.io/blog"])}
    if event_type == "list.joined":
        return {"list": rng.choice(["leads", "drip", "news"])}
    if event_type == "contact.updated":
        return {"score": rng.randrange(100), "plan": rng.choice(["pro", "free"])}
    if event_type == "form.submitted":
        return {"form": rng.choice(["demo_request", "contact"]), "region": "emea"}
    if event_type == "predicted.churn_risk":
        return {"score": rng.random()}
    if event_type == "webhook.received":
        return {"source": rng.choice(["stripe", "github"])}
    if event_type == "task.created":
        return {"task_id": f"t{rng.randrange(5)}", "due_at": now + rng.randrange(1, 5) * 86_400_000}
    return {"n": rng.randrange(10)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=600_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    workflows = WorkflowSet.from_definitions(definitions())
    rng = random.Random(args.seed)
    types = [t for t, _ in MIX]
    weights = [w for _, w in MIX]
    states: dict[str, bytes] = {}  # serialised, as the runtime keeps them in RocksDB
    timers: list[tuple[int, str, dict[str, Any]]] = []
    latencies: list[int] = []
    warm_latencies: list[int] = []
    counts = {"calls": 0, "actions": 0, "timers": 0, "timer_events": 0}
    span = 30 * 86_400_000
    now = T0
    step_ns = 0
    perf = time.perf_counter_ns
    # Every contact is seen once first (contact.added), then the mixed stream follows.
    script: list[tuple[str, str]] = [(f"c{n}", "contact.added") for n in range(args.contacts)]
    script += [
        (f"c{rng.randrange(args.contacts)}", t)
        for t in rng.choices(types, weights, k=max(0, args.events - args.contacts))
    ]
    tick = span // max(1, len(script))

    warmup = args.contacts

    def run(event: Event) -> None:
        nonlocal step_ns
        contact = event["contact_id"]
        raw = states.get(contact)
        state: ContactState | None = orjson.loads(raw) if raw is not None else None
        start = perf()
        result = step(state, event, workflows, event["ts"])
        elapsed = perf() - start
        if counts["calls"] >= warmup:
            step_ns += elapsed
            latencies.append(elapsed)
        else:
            warm_latencies.append(elapsed)
        states[contact] = orjson.dumps(result.state)
        counts["calls"] += 1
        counts["actions"] += len(result.actions)
        counts["timers"] += len(result.timers)
        for timer in result.timers:
            heapq.heappush(timers, (timer["due"], timer["token"], timer))

    for index, (contact, event_type) in enumerate(script):
        now += tick
        while timers and timers[0][0] <= now:
            due, token, timer = heapq.heappop(timers)
            counts["timer_events"] += 1
            run(
                {
                    "event_id": f"timer:{token}",
                    "contact_id": timer["contact_id"],
                    "type": "timer.fired",
                    "ts": due,
                    "properties": {"token": token, "due": due, "fired_at": due},
                }
            )
        if event_type == "contact.added":
            props = {
                "email": f"{contact}@example.com",
                "lifecycle": rng.choice(["lead", "customer", "customer"]),
            }
        else:
            props = properties(event_type, rng, now)
        run(
            {
                "event_id": f"e{index}",
                "contact_id": contact,
                "type": event_type,
                "ts": now,
                "properties": props,
            }
        )
    latencies.sort()
    total = len(latencies)

    def pct(q: float) -> float:
        return percentile(latencies, q) / 1000

    warm = sorted(warm_latencies)
    print(
        f"workflows: {len(workflows)}  contacts: {args.contacts}  step() calls: {counts['calls']} "
        f"(timer.fired: {counts['timer_events']})"
    )
    print(
        f"first sight of each contact ({len(warm)} calls, arms timed triggers): "
        f"{len(warm) / (sum(warm) / 1e9):,.0f} step()/s, p50 {warm[len(warm) // 2] / 1000:.1f} µs"
    )
    print(f"steady state ({total} calls, timer wake-ups included):")
    print(f"actions: {counts['actions']}  timer requests: {counts['timers']}")
    print(f"throughput: {total / (step_ns / 1e9):,.0f} step()/s on one core (time inside step() only)")
    print(
        f"latency: p50 {pct(50):.1f} µs  p90 {pct(90):.1f} µs  p99 {pct(99):.1f} µs  "
        f"max {latencies[-1] / 1000:.0f} µs"
    )


if __name__ == "__main__":
    main()
