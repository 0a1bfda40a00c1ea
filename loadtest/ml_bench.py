"""Benchmark of the ml package on the generator's ground truth: accuracy, lift, regret, throughput.

A real-time stream (behaviour time = event time, so label windows and local hours mean what they say)
is replayed through ml.scoring.Scorer the way the worker would run it (loadtest.ml_replay), then:

1. prequential (test-then-train) AUC of churn and conversion for each model kind, next to
   scikit-learn batch models trained on the earlier half of the same samples (test-only dependency);
2. a checkpoint/restore halfway through, against no restart and a cold start;
3. send-time lift: true engagement (Traits.affinity) at best_send_time vs a random hour;
4. the bandit's regret against the best fixed channel, over time: alone with instant rewards, and fed
   through the real path (sends as step actions, outcome events, trials closed by ml wake-ups;
   loadtest.ml_bandit_path);
5. throughput and latency: scores (features + both models), Scorer.observe, learning; a River dict
   predict is the baseline measured in the same run;
6. observe throughput on the runtime mix: ``Predictions.observe`` as the worker calls it, hints and
   trials included, over loadtest.runtime_workload's events (loadtest.ml_observe).

    .venv/bin/python -m loadtest.ml_bench [--contacts 3000] [--events 90000] [--days 90] [--seed 5]
                                          [--kinds logreg,hoeffding,forest] [--rounds 20000]
                                          [--mix-events 200000] [--sections replay,accuracy,...]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from engine.types import Event
from loadtest import ml_experiments as mx
from loadtest import ml_observe
from loadtest.generator import StreamSpec, Traffic, generate
from loadtest.ml_bandit_path import bandit_through_scorer
from loadtest.percentiles import percentile
from loadtest.report import format_table
from ml.features import as_features, feature_vector
from ml.labels import CHURN, CONVERT
from ml.models import ModelSet

T0 = 1_767_261_600_000  # 2026-01-01T10:00:00Z


def _f4(value: float) -> str:
    return f"{value:.4f}"


def _percentiles_us(samples_ns: Sequence[int]) -> tuple[str, str, str]:
    ordered = sorted(samples_ns)

    def at(q: float) -> str:
        return f"{percentile(ordered, q) / 1000:.1f}"

    return at(50), at(99), at(99.9)


def _timed(calls: int, body: Callable[[int], object]) -> tuple[float, list[int]]:
    """(calls per second, per-call latencies ns)."""
    latencies: list[int] = []
    clock = time.perf_counter_ns
    started = clock()
    for index in range(calls):
        before = clock()
        body(index)
        latencies.append(clock() - before)
    elapsed = (clock() - started) / 1e9
    return calls / elapsed, latencies


def accuracy_section(runs: dict[str, mx.OnlineRun]) -> None:
    print("\n## 1. prequential AUC (later half of the samples by snapshot time) vs offline batch models")
    rows = []
    for kind, run in runs.items():
        for model in (CHURN, CONVERT):
            figures = mx.compare_offline(run, model)
            best = figures.best_offline()
            rows.append(
                (
                    kind,
                    model,
                    figures.samples,
                    f"{figures.positives:.1%}",
                    _f4(figures.online_auc),
                    _f4(figures.offline["sklearn_logreg"]),
                    _f4(figures.offline["sklearn_gbdt"]),
                    f"{figures.online_auc - best:+.4f}",
                    "yes" if figures.online_auc >= best - 0.03 else "NO",
                    _f4(figures.online_auc_all),
                )
            )
    header = (
        "kind",
        "model",
        "samples",
        "positive",
        "online",
        "sk_logreg",
        "sk_gbdt",
        "vs best",
        "ok",
        "online(all)",
    )
    print(format_table(rows, header))


def replay_section(runs: dict[str, mx.OnlineRun], events: int, contacts: int) -> None:
    print("\n## replay through Scorer.observe (events + ml wake-ups, learning and hints included)")
    rows = []
    for kind, run in runs.items():
        calls = run.replay.events + run.replay.wakeups
        rows.append(
            (
                kind,
                f"{run.seconds:.1f}",
                round(calls / run.seconds),
                run.replay.wakeups,
                f"{run.replay.wakeups / events:.2f}",
                run.replay.predicted,
                f"{run.replay.predicted / contacts:.2f}",
                len(run.labels),
            )
        )
    header = ("kind", "seconds", "observe/s", "wake-ups", "per event", "predicted", "per contact", "labels")
    print(format_table(rows, header))
    replay = next(iter(runs.values())).replay
    sizes = [len(orjson.dumps(state)) for state in replay.ml_states.values()]
    print(f"ml-state size (orjson bytes): mean {statistics.mean(sizes):,.0f}, max {max(sizes):,}")
    hint_sizes = [len(orjson.dumps(hints)) for hints in replay.hints.values()]
    print(f"hints size (orjson bytes): mean {statistics.mean(hint_sizes):,.0f}, max {max(hint_sizes):,}")


def restart_section(events: list[Event], kind: str) -> None:
    print(f"\n## 2. checkpoint at the midpoint, restore, go on ({kind}); AUC on the second half")
    rows = [
        (f.model, f.restored_learned, _f4(f.continuous_auc), _f4(f.restored_auc), _f4(f.cold_auc))
        for f in mx.restart_run(events, kind=kind)
    ]
    print(format_table(rows, ("model", "learned before", "no restart", "restored", "cold start")))


def send_time_section(traffic: Traffic, run: mx.OnlineRun) -> None:
    print("\n## 3. send-time lift: mean true engagement (affinity / peak) of contacts with >= 5 events")
    rows = []
    for horizon in (24, 168):
        f = mx.send_time_lift(traffic, run, horizon_hours=horizon)
        rows.append(
            (
                f"{horizon} h",
                f.contacts,
                _f4(f.random),
                _f4(f.best),
                f"{f.lift:+.1%}",
                _f4(f.engine_wait),
                f"{f.engine_lift:+.1%}",
                _f4(f.best_prior_only),
                f"{f.prior_lift:+.1%}",
                _f4(f.oracle),
            )
        )
    header = ("horizon", "contacts", "random", "best_send", "lift", "engine wait", "lift",
              "prior only", "lift", "oracle")  # fmt: skip
    print(format_table(rows, header))


def regret_rows(points: Sequence[mx.RegretPoint]) -> list[tuple[Any, ...]]:
    """One table row per point of a regret curve."""
    return [
        (p.rounds, f"{p.regret:.1f}", f"{p.regret / p.rounds:.4f}", f"{p.regret_vs_global:.1f}",
         f"{p.random_regret:.1f}")
        for p in points
    ]  # fmt: skip


def bandit_section(rounds: int) -> None:
    print(f"\n## 4. bandit regret (expected response lost) over {rounds:,} sends, 3 segments x 3 channels")
    rows = regret_rows(mx.bandit_regret(rounds))
    print(format_table(rows, ("sends", "regret", "per send", "vs best fixed", "random policy")))


def bandit_path_section(rounds: int) -> None:
    print(f"\n## 4b. the bandit fed through the real path: {rounds:,} sends, 3,000 contacts, 120 days")
    print("sends are step actions on the contact's hinted channel; clicks come within 2 days, 2 % fail;")
    print("a trial closes 72 h after its send (on the contact's daily ml wake-up slot): then it is learned")
    started = time.perf_counter()
    run = bandit_through_scorer(rounds)
    rows = regret_rows(run.points)
    print(format_table(rows, ("sends", "regret", "per send", "vs best fixed", "random policy")))
    closed = ", ".join(f"{why} {count:,}" for why, count in sorted(run.closed.items()))
    print(
        f"responses {run.responses:,}, failures {run.failures:,}; trials closed: {closed}; last fifth of "
        f"sends on the segment's best channel: {run.best_share_late:.1%}; {run.events:,} observe calls in "
        f"{time.perf_counter() - started:.1f} s"
    )


def runtime_mix_section(events: int, rounds: int = 3) -> None:
    contacts = events // 2
    print(f"\n## 6. observe throughput on the runtime mix: {events:,} events, {contacts:,} first sights")
    pairs = ml_observe.runtime_mix(events, contacts)
    figures = ml_observe.measure(pairs, rounds=rounds)
    row = (
        figures.observes,
        round(figures.per_second),
        f"{figures.p50_us:.1f}",
        f"{figures.p99_us:.1f}",
        f"{figures.p999_us:.1f}",
        f"{figures.activity_share:.0%}",
        figures.sends,
        round(figures.hints_bytes_mean),
        round(figures.ml_state_bytes_mean),
    )
    header = ["observes", "per second", "p50 us", "p99 us", "p99.9 us", "activity", "sends", "hints B"]
    header.append("ml B")
    print(format_table([row], header))
    print(f"(Predictions.observe, hints and trials included; best of {rounds} rounds; states kept as bytes)")


def throughput_section(run: mx.OnlineRun) -> None:
    print("\n## 5. throughput and latency (one core)")
    models: ModelSet = run.scorer.models
    pool = [
        (run.replay.profiles[contact], state, state["la"] + 3_600_000)
        for contact, state in run.replay.ml_states.items()
        if state["la"]
    ]
    vectors = [feature_vector(profile, state, now) for profile, state, now in pool]
    dicts = [as_features(vector) for vector in vectors]
    n = len(pool)
    calls = max(100_000, n)
    rows = []

    def score(index: int) -> object:
        profile, state, now = pool[index % n]
        return models.score_vector(feature_vector(profile, state, now))

    def features_only(index: int) -> object:
        profile, state, now = pool[index % n]
        return feature_vector(profile, state, now)

    def models_only(index: int) -> object:
        return models.score_vector(vectors[index % n])

    def river_baseline(index: int) -> object:
        return models.scores(dicts[index % n])

    samples = [(c, item) for c, item in run.labels]

    def learn(index: int) -> object:
        _, item = samples[index % len(samples)]
        models.learn(item.model, as_features(item.vector), item.label)
        return None

    for name, body, count in (
        ("score: features + both models", score, calls),
        ("  features only", features_only, calls),
        ("  both models (folded linear view)", models_only, calls),
        ("baseline: both models, River predict_proba_one", river_baseline, calls),
        ("learn one label (River learn_one)", learn, min(50_000, calls)),
    ):
        rate, latencies = _timed(count, body)
        rows.append((name, round(rate), *_percentiles_us(latencies)))
    print(format_table(rows, ("operation", "per second", "p50 us", "p99 us", "p99.9 us")))


SECTIONS = (
    "replay", "accuracy", "restart", "send_time", "bandit", "bandit_path", "throughput", "runtime_mix",
)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="loadtest.ml_bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--contacts", type=int, default=3000)
    parser.add_argument("--events", type=int, default=90_000)
    parser.add_argument("--days", type=float, default=90.0)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--kinds", default="logreg,hoeffding,forest")
    parser.add_argument("--rounds", type=int, default=20_000)
    parser.add_argument("--mix-events", type=int, default=200_000, help="mixed events of the runtime mix")
    parser.add_argument("--sections", default=",".join(SECTIONS), help=f"subset of {','.join(SECTIONS)}")
    args = parser.parse_args()
    sections = {name for name in args.sections.split(",") if name}
    if not sections <= set(SECTIONS):
        unknown = ", ".join(sorted(sections - set(SECTIONS)))
        raise SystemExit(f"loadtest.ml_bench: unknown section(s) {unknown}")
    if "bandit" in sections:
        bandit_section(args.rounds)
    if "bandit_path" in sections:
        bandit_path_section(args.rounds)
    if "runtime_mix" in sections:
        runtime_mix_section(args.mix_events)
    stream_sections = sections & {"replay", "accuracy", "restart", "send_time", "throughput"}
    if not stream_sections:
        return
    spec = StreamSpec.real_time(
        contacts=args.contacts, events=args.events, days=args.days, start_ms=T0, seed=args.seed
    )
    started = time.perf_counter()
    traffic = generate(spec)
    print(
        f"\nml_bench: {args.events:,} events, {args.contacts:,} contacts, {args.days:g} days (real time), "
        f"seed {args.seed}; generated in {time.perf_counter() - started:.1f} s"
    )
    kinds = [kind for kind in args.kinds.split(",") if kind]
    if stream_sections <= {"send_time", "throughput", "restart"}:
        kinds = kinds[:1]  # the other kinds are only compared in the replay and accuracy sections
    runs = {kind: mx.run_online(traffic.events, kind=kind) for kind in kinds}
    if "replay" in sections:
        replay_section(runs, len(traffic.events), args.contacts)
    if "accuracy" in sections:
        accuracy_section(runs)
    if "restart" in sections:
        restart_section(traffic.events, kinds[0])
    if "send_time" in sections:
        send_time_section(traffic, runs[kinds[0]])
    if "throughput" in sections:
        throughput_section(runs[kinds[0]])


if __name__ == "__main__":
    main()
