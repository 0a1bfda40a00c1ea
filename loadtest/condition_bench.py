"""Microbenchmark of compiled workflow conditions: throughput and per-evaluation latency percentiles.

A realistic mix: the conditions the seed workflows use (plan checks, inactivity, engagement rates, churn
score, pricing-page visits, tags, send windows in the contact's time zone, renewal dates) evaluated
against a population of synthetic contacts and events.

Latency is measured per batch of BATCH evaluations of one (condition, scope) pair and divided by BATCH,
so the timer's own cost does not dominate nanosecond-scale figures.

    .venv/bin/python -m loadtest.condition_bench [--seconds 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from typing import Any

from engine.conditions import Condition, Scope, compile_condition
from engine.conditions.compiler import compile_uncached
from engine.durations import DAY, HOUR
from loadtest.percentiles import percentile

NOW = 1_770_042_600_000  # 2026-02-02T14:30:00Z
BATCH = 50
CONTACTS = 2_000

# (condition, weight): weights follow how often each kind appears in branch and filter nodes.
MIX: list[tuple[str, int]] = [
    ("contact.plan == 'pro'", 10),
    ("event.type == 'link.clicked' and event.url contains '/pricing'", 10),
    ("now - contact.last_seen > 30d", 8),
    ("contact.scores.churn_risk > 0.7", 8),
    ("has_tag('vip')", 8),
    ("contact.open_rate > 0.3", 6),
    ("contact.open_rate >= 0.2 and contact.click_rate > 5%", 6),
    ("count('purchase') == 0 and not has_tag('customer')", 6),
    ("event.page in ['pricing', 'plans', 'enterprise']", 6),
    ("in_workflow('welcome') or contact.country not in ['DE', 'AT', 'CH']", 4),
    ("event.rating == 5 and contact.email exists", 4),
    ("days_since(last('purchase')) > 30", 4),
    ("now > date(contact.renewal_date) - 1d", 3),
    ("day_of_week() <= 5 and hour_of_day() >= 9 and hour_of_day() < 17", 3),
    ("run.vars.cart_id exists and now - run.started_at > 2h", 4),
]
EVENT_TYPES = ["page.viewed", "link.clicked", "email.opened", "purchase", "review.submitted", "cart.created"]
ZONES = ["Europe/Paris", "America/New_York", "Asia/Kolkata", "UTC", "Australia/Sydney", "Nowhere/Unknown"]


def make_scopes(rng: random.Random) -> list[Scope]:
    scopes = []
    for index in range(CONTACTS):
        sent = rng.randint(0, 40)
        opened = rng.randint(0, sent)
        attrs: dict[str, Any] = {
            "first_name": f"Contact{index}",
            "plan": rng.choice(["free", "pro", "team"]),
            "country": rng.choice(["FR", "DE", "US", "IN", "CH"]),
            "timezone": rng.choice(ZONES),
        }
        if rng.random() < 0.7:
            attrs["email"] = f"c{index}@example.com"
        if rng.random() < 0.5:
            attrs["renewal_date"] = rng.choice(["2026-02-03", "2026-03-15", "2025-12-01T10:00:00Z"])
        counts = {"email.sent": sent, "email.opened": opened, "email.clicked": rng.randint(0, opened)}
        if rng.random() < 0.4:
            counts["purchase"] = rng.randint(1, 5)
        profile = {
            "attrs": attrs,
            "tags": sorted(
                rng.sample(["vip", "customer", "newsletter", "high-intent", "engaged"], rng.randint(0, 3))
            ),
            "counts": counts,
            "last_by_type": {"purchase": NOW - rng.randint(0, 90) * DAY} if "purchase" in counts else {},
            "scores": {"churn_risk": rng.random()} if rng.random() < 0.8 else {},
            "first_seen": NOW - 400 * DAY,
            "last_seen": NOW - rng.randint(0, 60) * DAY,
        }
        event_type = rng.choice(EVENT_TYPES)
        properties: dict[str, Any] = {}
        if event_type in ("page.viewed", "link.clicked"):
            page = rng.choice(["pricing", "blog", "plans", "docs"])
            properties = {"page": page, "url": f"https://example.com/{page}"}
        elif event_type == "review.submitted":
            properties = {"rating": rng.randint(1, 5)}
        event = {"event_id": f"e{index}", "contact_id": f"c{index}", "type": event_type, "ts": NOW,
                 "properties": properties}  # fmt: skip
        run = {"vars": {"cart_id": f"cart{index}"}, "started_at": NOW - rng.randint(0, 5) * HOUR}
        if rng.random() < 0.5:
            run = {"vars": {}, "started_at": NOW}
        workflows = frozenset(rng.sample(["welcome", "winback", "nurture"], rng.randint(0, 2)))
        scopes.append(Scope(contact=profile, event=event, run=run, now=NOW, workflows=workflows))
    return scopes


def run(seconds: float) -> dict[str, Any]:
    rng = random.Random(7)
    scopes = make_scopes(rng)
    compile_ns = []
    for source, _ in MIX:
        started = time.perf_counter_ns()
        compile_uncached(source)
        compile_ns.append(time.perf_counter_ns() - started)
    conditions: list[Condition] = [compile_condition(source) for source, _ in MIX]
    weights = [weight for _, weight in MIX]
    plan = [(rng.choices(range(len(MIX)), weights)[0], rng.randrange(len(scopes))) for _ in range(20_000)]

    # Warm up caches (ISO parsing, zones) and the interpreter's specialisation.
    for which, scope_index in plan[:5_000]:
        conditions[which].evaluate(scopes[scope_index])

    samples: list[float] = []
    per_condition: dict[int, list[float]] = {index: [] for index in range(len(MIX))}
    evaluations = 0
    true_results = 0
    deadline = time.perf_counter() + seconds
    position = 0
    busy_ns = 0
    while time.perf_counter() < deadline:
        which, scope_index = plan[position % len(plan)]
        position += 1
        evaluate = conditions[which].evaluate
        scope = scopes[scope_index]
        started = time.perf_counter_ns()
        for _ in range(BATCH):
            result = evaluate(scope)
        elapsed = time.perf_counter_ns() - started
        busy_ns += elapsed
        true_results += BATCH if result else 0
        evaluations += BATCH
        samples.append(elapsed / BATCH)
        per_condition[which].append(elapsed / BATCH)
    samples.sort()
    return {
        "evaluations": evaluations,
        "evaluations_per_second": evaluations / (busy_ns / 1e9),
        "p50_ns": percentile(samples, 50),
        "p90_ns": percentile(samples, 90),
        "p99_ns": percentile(samples, 99),
        "mean_ns": statistics.fmean(samples),
        "true_fraction": true_results / evaluations,
        "compile_us_median": statistics.median(compile_ns) / 1000,
        "per_condition_p50_ns": {
            MIX[index][0]: percentile(sorted(values), 50) for index, values in per_condition.items() if values
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=3.0, help="measurement time (default 3)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args()
    report = run(args.seconds)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"conditions: {len(MIX)} in a weighted mix over {CONTACTS} contacts, batch {BATCH}")
    print(f"evaluations: {report['evaluations']:,}  true: {report['true_fraction']:.0%}")
    print(f"throughput: {report['evaluations_per_second']:,.0f} evaluations/s (one core)")
    print(
        f"latency per evaluation: p50 {report['p50_ns']:.0f} ns  p90 {report['p90_ns']:.0f} ns  "
        f"p99 {report['p99_ns']:.0f} ns  mean {report['mean_ns']:.0f} ns"
    )
    print(f"compile (uncached) median: {report['compile_us_median']:.1f} us")
    print("p50 per condition:")
    for source, nanoseconds in report["per_condition_p50_ns"].items():
        print(f"  {nanoseconds:7.0f} ns  {source}")


if __name__ == "__main__":
    main()
