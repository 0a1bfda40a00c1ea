"""The pure pieces of `switchyard loadtest`: the keep-up judgement, per-second samples, latency by cause,
the attributed replay, the oracle's verdict (missed and early wake-ups, step failures, malformed events,
dead letters) and its rows in the table, the drain's judgement, the producer's deadline and the worker's
core read from its log (no Kafka)."""

from __future__ import annotations

import asyncio
import copy
import re
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import orjson
import pytest

import engine.simulate
import engine.step
from agents.core_build import COMPILED, INTERPRETED
from agents.logs import CORE_BUILD
from agents.settings import Settings
from agents.topic_reader import Record
from agents.worker_process import WorkerProcess
from engine.durations import HOUR
from engine.types import ContactState, Event
from engine.workflows import WorkflowSet
from loadtest.accuracy import Delivered, Emitted, Verdict, delivered_from, replay
from loadtest.meter import Offsets, Tick, first_arrivals, latency_figures, samples
from loadtest.oracle import compare, example_workflows, expected_actions, simulate
from loadtest.report import Sample
from loadtest.run import (
    Meter,
    ProducerChild,
    RunClock,
    RunConfig,
    RunError,
    WorkerHolder,
    producer_deadline_s,
    render_table,
    worker_core,
)
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


# -- the oracle's verdict -----------------------------------------------------------------------------


def cart_created(contact: str = "c1") -> Event:
    return {"event_id": f"{contact}-cart", "contact_id": contact, "type": "cart.created", "ts": NOW,
            "properties": {"cart_id": "k1", "value": 120}}  # fmt: skip


def verdict_of(
    events: dict[str, list[Event]], workflows: WorkflowSet, due_by: int | None = None, **delivered: Any
) -> Verdict:
    """The verdict on a run whose worker emitted exactly the actions the replay of ``events`` expects."""
    expected = replay(events, workflows, due_by=due_by)
    emitted = Emitted(list(expected.actions), [NOW] * len(expected.actions))
    seen = Delivered(events, sum(map(len, events.values())), 0, delivered.pop("malformed", 0))
    return Verdict(compare(expected.actions, emitted.actions), expected, emitted, seen, **delivered)


def test_a_due_timer_the_worker_never_fired_is_a_missed_wake_up() -> None:
    workflows = example_workflows("abandoned_cart")
    end = NOW + 3 * HOUR  # the reminder's 2 h wait fell due an hour before the run ended
    # the worker fired the wake-up: the topic holds it, the replay follows it to the reminder
    fired = simulate([cart_created()], workflows, end).delivered
    assert [e["type"] for e in fired["c1"]] == ["cart.created", "timer.fired"]
    on_time = verdict_of(fired, workflows, due_by=end)
    assert [a["node_id"] for a in on_time.expected.actions] == ["reminder"]
    assert on_time.expected.missed_wakeups == 0 and on_time.ok
    # the timer service dropped it: the topic holds the cart only, so no action is expected or missing
    dropped = verdict_of({"c1": [cart_created()]}, workflows, due_by=end)
    assert dropped.expected.actions == [] and dropped.comparison.ok
    assert dropped.expected.missed_wakeups == 1 and not dropped.ok
    token = fired["c1"][1]["properties"]["token"]
    assert dropped.expected.missed_examples == [f"c1 {token} due {NOW + 2 * HOUR}"]
    assert dropped.as_dict()["missed_wakeups"] == 1 and dropped.as_dict()["ok"] is False
    # a timer not due yet when the run ended is not missed
    assert verdict_of({"c1": [cart_created()]}, workflows, due_by=NOW + 2 * HOUR - 1).ok


def as_record(event: Event, offset: int) -> Record:
    value = orjson.dumps(event)
    return Record(event["contact_id"].encode(), value, {}, partition=0, offset=offset, timestamp=event["ts"])


def test_a_wake_up_fired_before_its_due_time_is_counted_early() -> None:
    workflows = example_workflows("abandoned_cart")
    cart, wakeup = simulate([cart_created()], workflows, NOW + 3 * HOUR).delivered["c1"]
    on_time = delivered_from([as_record(cart, 0), as_record(wakeup, 1)])
    assert on_time.wakeups == 1 and on_time.early == 0
    early = copy.deepcopy(wakeup)
    early["properties"]["fired_at"] = wakeup["properties"]["due"] - 1
    # a copy fired again (after a restart, say) is early too, though the oracle replays the event once
    read = delivered_from([as_record(cart, 0), as_record(wakeup, 1), as_record(early, 2)])
    assert read.repeated == 1 and read.early == 1 and read.early_examples == ["0:2"]
    expected = replay(read.by_contact, workflows, read.sources, due_by=NOW + 3 * HOUR)
    checked = Verdict(compare(expected.actions, expected.actions), expected, Emitted([], []), read)
    assert checked.comparison.ok and checked.expected.missed_wakeups == 0 and not checked.ok
    assert checked.as_dict()["early_wakeups"] == 1


def test_an_event_that_crashes_step_fails_the_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    workflows = example_workflows()
    events: dict[str, list[Event]] = {"c1": [
        {"event_id": "e0", "contact_id": "c1", "type": "contact.added", "ts": NOW,
         "properties": {"email": "ada@example.com"}},
        {"event_id": "e1", "contact_id": "c1", "type": "purchase", "ts": NOW + 1,
         "properties": {"order_id": "o1", "amount": 30}},
    ]}  # fmt: skip
    assert verdict_of(events, workflows).ok
    real_step = engine.step.step

    def regressed(
        state: ContactState | None, event: Event, workflows: WorkflowSet, now: int, hints: Any = None
    ) -> engine.step.StepResult:
        if event["type"] == "purchase":
            raise KeyError("cart_id")  # every purchase crashes step: the worker dead-letters it
        return real_step(state, event, workflows, now, hints)

    monkeypatch.setattr(engine.simulate, "step", regressed)
    crashed = verdict_of(events, workflows)
    assert crashed.expected.step_failures == 1 and crashed.comparison.ok  # both sides agree on nothing
    assert not crashed.ok


def test_malformed_events_and_dead_letters_fail_the_verdict() -> None:
    workflows = example_workflows("abandoned_cart")
    events = {"c1": [cart_created()]}
    assert verdict_of(events, workflows).ok
    assert not verdict_of(events, workflows, malformed=1).ok
    assert not verdict_of(events, workflows, dead_letters=1).ok


def run_config(tmp_path: Path, **changes: Any) -> RunConfig:
    cfg = RunConfig(
        settings=Settings(), mode="open", rate=100.0, seconds=10.0, events=0, contacts=0, seed=1, kills=0,
        report_dir=tmp_path, stem="t", log_dir=tmp_path, show_progress=False,
    )  # fmt: skip
    return replace(cfg, **changes)


def test_the_table_shows_what_the_comparison_cannot_see(tmp_path: Path) -> None:
    workflows = example_workflows("abandoned_cart")
    checked = verdict_of({"c1": [cart_created()]}, workflows, due_by=NOW + 3 * HOUR, malformed=2,
                         dead_letters=3)  # fmt: skip
    report = {
        "oracle": checked.as_dict(), "config": {"core": "interpreted"}, "chaos": [], "drained": True,
        "machine": {"cpus": 2, "loadavg_before": (0.5, 0, 0), "loadavg_after": (0.5, 0, 0),
                    "loadavg_1m_during": {}},
        "producer": {"sent": 1, "rate": 100.0, "max_behind_ms": 7},
    }  # fmt: skip
    table = render_table(run_config(tmp_path), report, [], latency_figures({}, {}, NOW))
    for row, value in (
        ("step failures in the oracle's replay", 0), ("malformed events in topic", 2),
        ("dead letters \\(events.dlq\\)", 3), ("wake-ups due, never fired", 1),
        ("wake-ups fired before due", 0), ("producer max ms behind schedule", 7),
    ):  # fmt: skip
        assert re.search(rf"^{row}\s+{value}$", table, re.MULTILINE), (row, table)


# -- the drain and the producer's deadline ------------------------------------------------------------


class LiveWorker(WorkerHolder):
    """A worker that stays up (the drain only asks)."""

    def check(self) -> None:
        pass


LIVE = LiveWorker(cast(WorkerProcess, None))


def draining(tmp_path: Path, ticks: list[Tick]) -> Meter:
    """A Meter without its offset probe: the drain reads only the ticks the sampling appends."""
    gauge = Meter.__new__(Meter)
    gauge.cfg = run_config(tmp_path, settle_s=0.5, stall_s=1.0)
    gauge.clock, gauge.ticks, gauge.bar = RunClock(), ticks, None
    return gauge


def test_the_drain_ends_as_stalled_when_no_sample_ever_comes(tmp_path: Path) -> None:
    started = time.monotonic()
    assert asyncio.run(asyncio.wait_for(draining(tmp_path, []).drain(LIVE), 10)) is False
    assert time.monotonic() - started < 3


def test_a_stale_sample_of_lag_0_does_not_end_the_drain(tmp_path: Path) -> None:
    # the sampling stopped (or its reads keep failing) since a reading of lag 0 ten seconds ago
    gauge = draining(tmp_path, [Tick(10.0, 100_000, Offsets(50_000, 50_000))])
    gauge.clock.started -= 20.0
    assert asyncio.run(asyncio.wait_for(gauge.drain(LIVE), 10)) is False


def test_fresh_samples_that_reach_lag_0_end_the_drain(tmp_path: Path) -> None:
    gauge = draining(tmp_path, [])

    async def sample() -> None:  # the lag shrinks 4 -> 0 over 1.6 s, longer than stall_s, then stays 0
        started = time.monotonic()
        while True:
            lag = max(0, 4 - int((time.monotonic() - started) / 0.4))
            gauge.ticks.append(Tick(gauge.clock.now(), 10, Offsets(10, 10 - lag)))
            await asyncio.sleep(0.1)

    async def drain() -> bool:
        sampling = asyncio.create_task(sample())
        try:
            return await asyncio.wait_for(gauge.drain(LIVE), 10)
        finally:
            sampling.cancel()

    assert asyncio.run(drain()) is True


def test_a_producer_that_never_finishes_ends_the_run_at_its_deadline(tmp_path: Path) -> None:
    cfg = run_config(tmp_path)
    assert producer_deadline_s(cfg, 1_000) == 2 * 10 + 60
    assert producer_deadline_s(run_config(tmp_path, mode="max"), 100_000) == 100 + 60
    child = ProducerChild(cfg, preload=False)  # never spawned: it never says DONE
    child.planned, child.sent, child.acked = 10, 10, 0
    started = time.monotonic()
    with pytest.raises(RunError, match=r"producer: not done 0 s after .*acknowledged 0 of 10"):
        asyncio.run(asyncio.wait_for(child.wait_done(0.3), 10))
    assert time.monotonic() - started < 3
