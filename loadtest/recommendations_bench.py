"""Recommendations benchmark: do the workflow recommendations improve what they target, on ground truth?

    python -m loadtest.recommendations_bench [--contacts 8000] [--events-per-contact 30] [--days 30]
                                             [--seed 7] [--holdout-seed 8] [--max-seconds 1500] [--json]

1. History: the behaviour generator's contacts (loadtest.generator, real time, ``--seed``) live through the
   scenario's workflows (loadtest.rec_scenario) in the closed loop of loadtest.rec_world: the real engine,
   the real ML scorer (send-time hints, channel bandit) and ground-truth responses to every send.
2. Figures as production computes them (loadtest.rec_figures): the records through the analytics writer's
   row conversion into an embedded chdb store, the API's reports, the API's Figures; then
   ``ml.workflow_recs.recommendations`` per workflow.
3. Each recommendation with a behavioural change is applied (``ml.patch.apply_ops``) as version 2 and must
   validate (``engine.validation``). A change that only edits ``description`` (a review note) and a kind
   with no change are reported as such: never backtested, never counted as an improvement.
4. Backtest on held-out traffic (``--holdout-seed``, new contacts, the 30 days after the history): the
   original workflows once, and each draft in place of its workflow, every run starting from the
   scorer as the history left it, with the same ground truth and the same keyed draws (common random
   numbers). Target metric per kind: loadtest.rec_backtest.
5. Printed: recommendations made and applied per kind, the share that improve their target metric
   (of all made, and of those applied; the issue's criterion is >= 60 %), each lift with its 95 %
   interval, and the runtime of every phase. Bounded: at most MAX_CONTACTS contacts, and backtests stop
   once ``--max-seconds`` have passed (the rest are reported as not backtested).
No network, no Kafka: the store is an embedded chdb under a temporary directory, deleted at the end.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.durations import DAY
from engine.validation import validate_definition
from engine.workflows import WorkflowSet
from loadtest import personalization_bench
from loadtest.generator import StreamSpec, Traffic, generate
from loadtest.rec_backtest import (
    Lift,
    bandit_attribution,
    best_time_resolution,
    channel_mix,
    lift,
    preferred_channel_reward,
    target_metric,
)
from loadtest.rec_figures import FigureStore
from loadtest.rec_scenario import enrich, workflows
from loadtest.rec_world import WorldRun, run_world
from ml.exceptions import MLError
from ml.patch import apply_ops
from ml.scoring import Scorer
from ml.workflow_recs import Recommendation, recommendations

T0 = 1_767_225_600_000  # 2026-01-01 00:00 UTC
MAX_CONTACTS = 20_000
SETTLE_DAYS = 4  # the held-out runs go on this long after the traffic ends (waits, outcomes)
CRITERION = 0.6


@dataclass
class Outcome:
    rec: Recommendation
    status: str  # backtested | no automatic change | review note only | does not apply | not backtested
    detail: str = ""
    lift: Lift | None = None


@dataclass
class BenchRun:
    contacts: int
    history_events: int
    heldout_events: int
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    steps: dict[str, int] = field(default_factory=dict)
    stored_rows: int = 0
    bandit: dict[str, dict[str, Any]] = field(default_factory=dict)  # credited vs true reward per channel


def traffic(contacts: int, per_contact: int, days: float, start: int, seed: int, prefix: str) -> Traffic:
    spec = StreamSpec.real_time(
        contacts=contacts, events=contacts * per_contact, days=days, start_ms=start, seed=seed, prefix=prefix
    )
    return generate(spec)


def draft_of(definition: dict[str, Any], rec: Recommendation) -> tuple[dict[str, Any] | None, str, str]:
    """(the draft as a runnable version, status, detail); the draft is None when there is nothing to run."""
    if not rec.change:
        return None, "no automatic change", ""
    if all(str(op.get("path", "")).endswith("/description") for op in rec.change):
        return None, "review note only", "the change adds a note to the node's description"
    try:
        changed = apply_ops(definition, rec.change)
    except MLError as exc:
        return None, "does not apply", str(exc)
    changed = {**changed, "version": int(definition["version"]) + 1, "status": "draft"}
    errors = [i.message for i in validate_definition(changed) if i.severity == "error"]
    if errors:
        return None, "does not apply", "; ".join(errors)
    return {**changed, "status": "published"}, "backtested", ""


def run(
    contacts: int,
    per_contact: int,
    days: float,
    seed: int,
    holdout_seed: int,
    max_seconds: float,
    scratch: Path,
) -> BenchRun:
    began = time.perf_counter()
    contacts = min(contacts, MAX_CONTACTS)
    definitions = {d["id"]: d for d in workflows()}
    original = WorkflowSet.from_definitions(list(definitions.values()))
    span = round(days * DAY)

    clock = time.perf_counter()
    history = traffic(contacts, per_contact, days, T0, seed, "rh")
    heldout = traffic(contacts, per_contact, days, T0 + span, holdout_seed, "rt")
    out = BenchRun(contacts, len(history.events), len(heldout.events))
    out.seconds["generate"] = time.perf_counter() - clock

    clock = time.perf_counter()
    credited: dict[str, float] = {}
    scorer = Scorer(on_trial=lambda _, trial: credited.__setitem__(trial.action_id, trial.reward))
    world = run_world(history, [enrich(e, seed) for e in history.events], original, scorer, seed=seed,
                      until=T0 + span)  # fmt: skip
    out.seconds["history_world"] = time.perf_counter() - clock
    out.steps["history_world"] = world.steps
    out.bandit = bandit_attribution(world, credited)
    scorer.on_trial = None  # the backtests start from the models and bandit, without the observer
    snapshot = pickle.dumps(scorer)

    store = FigureStore(scratch / "analytics")
    try:
        out.seconds["store_load"] = store.load(world)
        out.stored_rows = store.rows
        clock = time.perf_counter()
        found: list[Recommendation] = []
        for workflow_id, definition in definitions.items():
            found += recommendations(definition, store.figures(workflow_id, 1, T0 + span))
        out.seconds["reports_and_recommendations"] = time.perf_counter() - clock
    finally:
        store.close()

    heldout_events = [enrich(e, holdout_seed) for e in heldout.events]
    until = T0 + 2 * span + SETTLE_DAYS * DAY

    def backtest(workflow_set: WorkflowSet) -> WorldRun:
        return run_world(heldout, heldout_events, workflow_set, pickle.loads(snapshot), seed=holdout_seed,
                         until=until, keep_records=False)  # fmt: skip

    clock = time.perf_counter()
    baseline = backtest(original)
    out.seconds["backtest_original"] = time.perf_counter() - clock
    out.steps["backtest_original"] = baseline.steps
    for rec in found:
        definition = definitions[rec.workflow]
        draft, status, detail = draft_of(definition, rec)
        if draft is None:
            out.outcomes.append(Outcome(rec, status, detail))
            continue
        if time.perf_counter() - began > max_seconds:
            out.outcomes.append(Outcome(rec, "not backtested", f"--max-seconds {max_seconds:.0f} reached"))
            continue
        clock = time.perf_counter()
        swapped = [draft if d["id"] == rec.workflow else d for d in definitions.values()]
        drafted = backtest(WorkflowSet.from_definitions(swapped))
        out.seconds[f"backtest {rec.kind} {rec.workflow}/{rec.node}"] = time.perf_counter() - clock
        before, after = target_metric(rec, definition, baseline), target_metric(rec, draft, drafted)
        if before is None or after is None or before.n == 0 or after.n == 0:
            out.outcomes.append(Outcome(rec, "not backtested", "no units of its target metric"))
            continue
        detail = _diagnosis(rec, drafted)
        evidence_check = preferred_channel_reward(rec, baseline, holdout_seed)
        if evidence_check is not None:
            checked = lift(before, evidence_check)
            detail += (
                f"; had each segment got its preferred channel: {evidence_check.mean:.4f} "
                f"({checked.diff:+.4f} [{checked.low:+.4f}, {checked.high:+.4f}])"
            )
        out.outcomes.append(Outcome(rec, status, detail, lift(before, after)))
    out.seconds["total"] = time.perf_counter() - began
    return out


def _diagnosis(rec: Recommendation, drafted: WorldRun) -> str:
    """What the draft's mechanism did in its backtest: how its best-time waits ended, or which channels
    its send_best chose per segment."""
    resolved = best_time_resolution(rec, drafted)
    if resolved is not None:
        return f"best-time waits: {resolved[0]} at a hinted hour, {resolved[1]} at the fallback time"
    if rec.kind == "bandit_channel":
        return "channels chosen per segment: " + "; ".join(
            f"{segment} " + ", ".join(f"{channel} {n}" for channel, n in row.items())
            for segment, row in channel_mix(rec, drafted).items()
        )
    return ""


def summary(bench: BenchRun) -> dict[str, Any]:
    """The figures the benchmark reports, every one computed from the outcomes."""
    kinds: dict[str, dict[str, Any]] = {}
    for o in bench.outcomes:
        k = kinds.setdefault(o.rec.kind, {"made": 0, "applied": 0, "improved": 0, "significant": 0,
                                          "statuses": {}, "lifts": []})  # fmt: skip
        k["made"] += 1
        k["statuses"][o.status] = k["statuses"].get(o.status, 0) + 1
        if o.lift is not None:
            k["applied"] += 1
            k["improved"] += int(o.lift.improved)
            k["significant"] += int(o.lift.significant)
            k["lifts"].append(lift_json(o))
    made = sum(k["made"] for k in kinds.values())
    applied = sum(k["applied"] for k in kinds.values())
    improved = sum(k["improved"] for k in kinds.values())
    return {
        "contacts": bench.contacts,
        "history_events": bench.history_events,
        "heldout_events": bench.heldout_events,
        "stored_rows": bench.stored_rows,
        "made": made,
        "applied": applied,
        "improved": improved,
        "improved_share_of_made": improved / made if made else None,
        "improved_share_of_applied": improved / applied if applied else None,
        "criterion": CRITERION,
        "kinds": kinds,
        "bandit_attribution": bench.bandit,
        "seconds": {k: round(v, 2) for k, v in bench.seconds.items()},
        "steps": bench.steps,
    }


def lift_json(o: Outcome) -> dict[str, Any]:
    assert o.lift is not None
    before, after = o.lift.original, o.lift.draft
    return {
        "workflow": o.rec.workflow, "node": o.rec.node, "metric": before.name,
        "original": round(before.mean, 4), "original_n": before.n, "draft": round(after.mean, 4),
        "draft_n": after.n, "diff": round(o.lift.diff, 4), "low": round(o.lift.low, 4),
        "high": round(o.lift.high, 4), "improved": o.lift.improved, "significant": o.lift.significant,
        "truth_original": None if before.truth is None else round(before.truth, 4),
        "truth_draft": None if after.truth is None else round(after.truth, 4),
        "oracle": None if before.oracle is None else round(before.oracle, 4),
        "proposed": o.rec.evidence.get("proposed"), "diagnosis": o.detail,
    }  # fmt: skip


def render(figures: dict[str, Any], bench: BenchRun) -> str:
    lines = [
        f"recommendations benchmark: {figures['contacts']} contacts; history {figures['history_events']} "
        f"events, held-out {figures['heldout_events']} events; {figures['stored_rows']} rows in chdb",
        f"{'kind':<24}{'made':>6}{'applied':>9}{'improved':>10}{'signif.':>9}  statuses",
    ]
    for kind, k in sorted(figures["kinds"].items()):
        statuses = ", ".join(f"{n} {s}" for s, n in sorted(k["statuses"].items()))
        lines.append(
            f"{kind:<24}{k['made']:>6}{k['applied']:>9}{k['improved']:>10}{k['significant']:>9}  {statuses}"
        )
    lines.append("lifts (draft - original on held-out traffic, 95% interval):")
    for kind, k in sorted(figures["kinds"].items()):
        for item in k["lifts"]:
            truth = (
                f"; truth E[open] {100 * item['truth_original']:.2f}% -> {100 * item['truth_draft']:.2f}%"
                if item["truth_original"] is not None else ""
            ) + (
                f" (best hour within 24 h by true affinity: {100 * item['oracle']:.2f}%)"
                if item["oracle"] is not None else ""
            )  # fmt: skip
            lines.append(
                f"  {kind} {item['workflow']}/{item['node']}: {item['metric']} {item['original']:.4f} "
                f"(n={item['original_n']}) -> {item['draft']:.4f} (n={item['draft_n']}), "
                f"{item['diff']:+.4f} [{item['low']:+.4f}, {item['high']:+.4f}]{truth}"
            )
            if item["proposed"]:
                lines.append(f"    proposed: {', '.join(item['proposed'])}")
            if item["diagnosis"]:
                lines.append(f"    {item['diagnosis']}")
    for o in bench.outcomes:
        if o.lift is None:
            lines.append(f"  {o.rec.kind} {o.rec.workflow}/{o.rec.node}: {o.status}"
                         + (f" ({o.detail})" if o.detail else ""))  # fmt: skip

    lines.append("the history's bandit trials, reward credited by ml.trials vs ground truth, per channel:")
    lines += [
        f"  {channel}: {row['trials']} trials, credited {row['credited_mean']:.4f}, "
        f"true {row['true_mean']:.4f}"
        for channel, row in figures["bandit_attribution"].items()
    ]

    def share(value: float | None) -> str:
        return "n/a" if value is None else f"{100 * value:.1f}%"

    made_share, applied_share = figures["improved_share_of_made"], figures["improved_share_of_applied"]
    lines.append(
        f"improve their target metric: {figures['improved']} of {figures['made']} made "
        f"({share(made_share)}; kinds without a behavioural change count as not improving), "
        f"{figures['improved']} of {figures['applied']} backtested ({share(applied_share)}); criterion "
        f">= {100 * CRITERION:.0f}%: {'met' if (made_share or 0) >= CRITERION else 'NOT met'} over all made, "
        f"{'met' if (applied_share or 0) >= CRITERION else 'NOT met'} over those backtested"
    )
    steps = figures["steps"]
    seconds = figures["seconds"]
    rate = steps.get("history_world", 0) / seconds["history_world"] if seconds.get("history_world") else 0.0
    lines.append(f"runtime: {seconds['total']:.1f} s in all; history loop {steps.get('history_world', 0)} "
                 f"steps in {seconds['history_world']:.1f} s ({rate:,.0f} steps/s with scoring)")  # fmt: skip
    lines += [f"  {name}: {value:.2f} s" for name, value in seconds.items() if name != "total"]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtest.recommendations_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--contacts", type=int, default=8000)
    parser.add_argument("--events-per-contact", type=int, default=30)
    parser.add_argument("--days", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--holdout-seed", type=int, default=8)
    parser.add_argument("--max-seconds", type=float, default=1500.0)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON instead of text")
    args = parser.parse_args(argv)
    if args.contacts <= 0 or args.events_per_contact <= 1 or args.days <= 0:
        parser.error("contacts, events per contact and days must be positive (events per contact > 1)")
    with tempfile.TemporaryDirectory(prefix="recbench-") as scratch:
        bench = run(args.contacts, args.events_per_contact, args.days, args.seed, args.holdout_seed,
                    args.max_seconds, Path(scratch))  # fmt: skip
    figures = summary(bench)
    # content personalization, the issue's other recommendation (loadtest/personalization_bench.py)
    content = personalization_bench.run(min(args.contacts, 4000), 40, 60.0, args.seed)
    kept = ("contacts", "personalized_click_rate", "best_fixed_variant", "best_fixed_click_rate",
            "lift_ratio", "lift_points", "lift_points_ci95")  # fmt: skip
    figures["personalization"] = {name: getattr(content, name) for name in kept}
    print(json.dumps(figures) if args.json else render(figures, bench))
    if not args.json:
        low, high = content.lift_points_ci95
        print(f"content personalization over the best fixed variant ({content.best_fixed_variant}), "
              f"{content.contacts:,} contacts: click rate {content.personalized_click_rate:.2%} vs "
              f"{content.best_fixed_click_rate:.2%}, x{content.lift_ratio:.2f}, "
              f"{content.lift_points:+.1f} points (95 % {low:+.1f} to {high:+.1f})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
