"""The pure pieces of `switchyard loadtest`: the keep-up judgement, per-second samples, latency by cause,
the attributed replay and the worker's core read from its log (no Kafka)."""

from __future__ import annotations

from pathlib import Path

import orjson

from agents.core_build import COMPILED, INTERPRETED
from agents.logs import CORE_BUILD
from engine.types import Event
from loadtest.accuracy import replay
from loadtest.meter import Offsets, Tick, first_arrivals, latency_figures, samples
from loadtest.oracle import example_workflows, expected_actions
from loadtest.report import Sample
from loadtest.run import worker_core
from loadtest.verdict import keep_up

NOW = 1_795_449_787_876


def window(growth: int, rate: int = 1000, seconds: int = 30, base: int = 200) -> list[Sample]:
    out = []
    for t in range(1, seconds + 1):
        lag = base + growth * t + (t % 2) * 50
        out.append(Sample(t=float(t), produced=rate, processed=rate - growth, lag=lag))
    return out


def test_a_bounded_lag_keeps_up_and_a_growing_one_does_not() -> None:
    steady = keep_up(window(0), 1000.0)
    assert steady.keeps_up and "keeps up at 1,000 ev/s" in steady.statement
    behind = keep_up(window(400), 1000.0)
    assert not behind.keeps_up
    assert abs(behind.lag_slope_per_s - 400) < 1 and abs(behind.sustained_eps - 600) < 1
    assert "stops keeping up at about 600 ev/s" in behind.statement


def test_a_slow_drift_within_a_few_seconds_of_input_is_commit_noise() -> None:
    drifting = window(60, base=100)  # grows 60/s (over 5% of 1,000) but stays under 3 s of input
    assert max(s.lag for s in drifting) < 3000
    assert keep_up(drifting, 1000.0).keeps_up
    assert not keep_up(window(60, base=3000), 1000.0).keeps_up


def test_a_backlog_left_by_pauses_is_not_called_a_rate_limit() -> None:
    paused = [Sample(t=float(t), produced=1000, processed=1100, lag=5000 + 200 * t) for t in range(1, 31)]
    judged = keep_up(paused, 1000.0)
    assert not judged.keeps_up and "stops keeping up" not in judged.statement
    assert "backlog left by pauses" in judged.statement


def test_samples_take_per_second_differences_and_the_latency_of_their_second() -> None:
    ticks = [
        Tick(1.0, 100, Offsets(100, 40)),
        Tick(2.0, 250, Offsets(260, 200)),
        Tick(3.0, 300, Offsets(310, 310)),
    ]
    arrivals = [(0.5, 10.0), (1.2, 30.0), (1.7, 50.0), (2.9, 5.0)]
    rows = samples(ticks, arrivals)
    assert [r.produced for r in rows] == [100, 150, 50]
    assert [r.processed for r in rows] == [40, 160, 110]
    assert [r.lag for r in rows] == [60, 60, 0]
    assert [r.actions for r in rows] == [1, 2, 1]
    assert rows[1].p99_ms == 50.0 and rows[1].p50_ms == 30.0


def test_sample_latencies_follow_the_ticks_not_whole_seconds() -> None:
    # Ticks come a little after each second; the first one holds everything that arrived before it.
    ticks = [Tick(1.129, 100, Offsets(100, 100)), Tick(2.009, 200, Offsets(200, 200)),
             Tick(3.022, 300, Offsets(300, 300))]  # fmt: skip
    arrivals = [(0.2, 250.0), (0.9, 200.0), (1.1, 40.0), (1.5, 10.0), (2.5, 12.0), (3.5, 99.0)]
    rows = samples(ticks, arrivals)
    assert [r.actions for r in rows] == [3, 1, 1]
    assert rows[0].p99_ms == 250.0
    assert [r.p50_ms for r in rows[1:]] == [10.0, 12.0]


def test_latency_keeps_the_first_copy_and_sets_timer_caused_actions_apart() -> None:
    emitted = [
        ({"action_id": "a", "ts": NOW}, NOW + 30),
        ({"action_id": "a", "ts": NOW}, NOW + 900),  # a duplicate after a crash: not a second latency
        ({"action_id": "b", "ts": NOW + 10}, NOW + 20),
        ({"action_id": "t", "ts": NOW - 5000}, NOW + 40),  # caused by a wake-up due 5 s earlier
        ({"action_id": "x", "ts": NOW}, NOW + 1),  # unknown to the oracle
    ]
    figures = latency_figures(first_arrivals(emitted), {"a": False, "b": False, "t": True}, NOW)
    assert figures.immediate.count == 2 and figures.immediate.max_ms == 30.0
    assert figures.timer.count == 1 and figures.timer.max_ms == 5040.0
    assert figures.unattributed == 1
    assert sorted(figures.arrivals) == [(0.02, 10.0), (0.03, 30.0)]


def test_attributed_replay_gives_the_oracles_actions_and_their_causes() -> None:
    workflows = example_workflows()
    events: dict[str, list[Event]] = {
        "c1": [
            {"event_id": "e1", "contact_id": "c1", "type": "contact.added", "ts": NOW,
             "properties": {"email": "c1@example.com", "first_name": "Ada", "source": "signup"}},
            {"event_id": "e2", "contact_id": "c1", "type": "page.viewed", "ts": NOW + 1000,
             "properties": {"page": "pricing", "url": "https://example.com/pricing"}},
        ]
    }  # fmt: skip
    plain = expected_actions(events, workflows)
    attributed = replay(events, workflows)
    assert attributed.actions == plain and plain
    assert set(attributed.timer_caused) == {a["action_id"] for a in plain}
    assert not any(attributed.timer_caused.values())


def test_the_worker_core_is_read_from_its_log_in_either_format(tmp_path: Path) -> None:
    plain, json_lines, silent = tmp_path / "plain.log", tmp_path / "json.log", tmp_path / "silent.log"
    plain.write_text("[2026-12-06 08:47:57,346] [6772] [INFO] [^Worker]: Ready \n"
                     f"[2026-12-06 08:47:57,579] [6772] [INFO] {CORE_BUILD}{COMPILED} \n")  # fmt: skip
    records = [{"message": "[^Worker]: Ready"}, {"message": f"{CORE_BUILD}{INTERPRETED}", "pid": 1}]
    json_lines.write_bytes(b"".join(orjson.dumps(record) + b"\n" for record in records))
    silent.write_text("[2026-12-06 08:47:57,346] [6772] [INFO] [^Worker]: Ready \n")
    assert worker_core(plain) == COMPILED
    assert worker_core(json_lines) == INTERPRETED
    assert worker_core(silent).startswith("unknown")
    assert worker_core(tmp_path / "absent.log").startswith("unknown")
