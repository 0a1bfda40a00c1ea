"""The pure pieces of the runtime benchmark: its workload and its result checks (no Kafka)."""

from __future__ import annotations

import heapq
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest

from agents.processor import all_pending
from agents.scoring import Predictions, is_ml_wakeup
from engine.durations import HOUR, MINUTE
from engine.events import Limits, Malformed, decode_event
from engine.step import step
from engine.types import ContactState, Event
from engine.workflows import WorkflowSet
from loadtest import quix_peer
from loadtest.baseline import PathResult, machine_busy_seconds, process_cpu_seconds
from loadtest.kafka_bench import latency_summary
from loadtest.runtime_bench import (
    Phase,
    RuntimeResult,
    TimerCheck,
    action_digest,
    cpu_delta,
    logged_errors,
    parse_options,
    print_report,
    summarise,
    table_lines,
    timer_window_problems,
)
from loadtest.runtime_workload import BACKDATED, DEFAULT_SPAN_MS, FOLLOW_UPS, Workload, generate_workload
from loadtest.step_bench import definitions
from ml.labels import ML_TIMER_KIND

NOW = 1_795_449_787_876  # 2026-11-23 16:03 UTC: outside every quiet-hours window of the workflows


def events_of(records: list[tuple[bytes, bytes]]) -> list[dict[str, Any]]:
    return [orjson.loads(value) for _, value in records]


@pytest.fixture(scope="module")
def workload() -> Workload:
    return generate_workload(6000, 1500, 300, now_ms=NOW, seed=3)


def test_workload_is_deterministic_and_seeded(workload: Workload) -> None:
    again = generate_workload(6000, 1500, 300, now_ms=NOW, seed=3)
    assert again.first_sight == workload.first_sight and again.paced == workload.paced
    assert again.mixed == workload.mixed
    assert generate_workload(6000, 1500, 300, now_ms=NOW, seed=4).mixed != workload.mixed


def test_every_event_follows_the_contract(workload: Workload) -> None:
    for key, value in workload.first_sight + workload.mixed + workload.paced:
        decoded = decode_event(value, key, Limits(max_ts=NOW + HOUR))
        assert not isinstance(decoded, Malformed), decoded


def test_first_sight_adds_every_contact_once(workload: Workload) -> None:
    added = events_of(workload.first_sight)
    assert {e["type"] for e in added} == {"contact.added"}
    assert len({e["contact_id"] for e in added}) == 1500 == len(added)
    assert max(e["ts"] for e in added) < NOW - DEFAULT_SPAN_MS


def test_mixed_stream_mostly_matches_no_trigger(workload: Workload) -> None:
    triggers = WorkflowSet.from_definitions(definitions()).event_types
    types = Counter(e["type"] for e in events_of(workload.mixed))
    assert sum(types.values()) == 6000
    untriggered = sum(n for t, n in types.items() if t not in triggers)
    assert 0.6 < untriggered / 6000 < 0.9, types


def test_follow_ups_come_later_for_the_same_contact(workload: Workload) -> None:
    mixed = events_of(workload.mixed)
    origins: dict[tuple[str, Any], tuple[int, dict[str, Any]]] = {}
    matched = 0
    for position, event in enumerate(mixed):
        for origin, (_, then, shared) in FOLLOW_UPS.items():
            value = event["properties"].get(shared)
            if event["type"] == origin:
                origins[(shared, value)] = (position, event)
            elif event["type"] == then and (shared, value) in origins:
                at, first = origins[(shared, value)]
                assert at < position and first["contact_id"] == event["contact_id"]
                assert first["ts"] <= event["ts"]
                matched += 1
    assert matched == workload.follow_ups > 0


def test_backdated_events_are_due_well_before_now(workload: Workload) -> None:
    mixed = events_of(workload.mixed)
    recent = [e for e in mixed if e["ts"] >= NOW - DEFAULT_SPAN_MS]
    old = [e for e in mixed if e["ts"] < NOW - DEFAULT_SPAN_MS]
    assert len(old) == workload.backdated > 0
    assert all(e["ts"] <= NOW for e in recent)
    for event in old:
        wait = BACKDATED[event["type"]][1]
        assert event["ts"] + wait <= NOW - 30 * MINUTE


def test_paced_events_have_distinct_existing_contacts(workload: Workload) -> None:
    keys = [key for key, _ in workload.paced]
    assert len(keys) == len(set(keys)) == 300
    assert set(keys) <= {key for key, _ in workload.first_sight}


def test_generate_workload_rejects_bad_sizes() -> None:
    with pytest.raises(ValueError):
        generate_workload(10, 0, 0, now_ms=NOW)
    with pytest.raises(ValueError):
        generate_workload(10, 5, 6, now_ms=NOW)


def test_timers_are_due_either_long_before_or_long_after_now(tmp_path: Path) -> None:
    """Through the pure engine and the models, as the worker runs them: every input event, then the
    wake-ups due by now. No timer of either, workflow or model, may fall due in the hour after `now` nor
    in the half hour before it, so which timers fire does not depend on when or how fast the stream is
    processed; and the traffic does start runs, resolve waits through follow-ups and fire timers.

    The models round every wake-up up to the contact's slot on a one-day grid, so one due shortly
    before `now` lands anywhere in the day after it: a backdated event (stamped before its contact's
    latest activity) used to schedule the silent contact's re-score at that latest activity instead of a
    re-score period after it. The predicted events the models emit are left out."""
    workload = generate_workload(20000, 2000, 300, now_ms=NOW, seed=5)
    workflows = WorkflowSet.from_definitions(definitions())
    predictions = Predictions(tmp_path)  # new models, as a worker without a checkpoint
    states: dict[str, ContactState] = {}
    timers: list[tuple[int, str, str, str]] = []  # (due, token, contact, kind)
    transitions: Counter[tuple[str | None, str]] = Counter()
    actions = 0

    def run(event: Event) -> None:
        nonlocal actions
        contact = event["contact_id"]
        before = states.get(contact)
        if before is not None and is_ml_wakeup(event):  # the models' business only, as in the worker
            state, emitted = before, []
        else:
            result = step(before, event, workflows, event["ts"], predictions.first_hints(before, event))
            state, emitted = result.state, result.actions
            transitions.update((t["workflow_id"], t["transition"]) for t in result.trace)
        actions += len(emitted)
        states[contact], _ = predictions.observe(state, event, emitted)
        for due, token, kind in set(all_pending(states[contact])) - set(all_pending(before)):
            heapq.heappush(timers, (due, token, contact, kind))

    for _, value in workload.first_sight + workload.mixed:
        run(orjson.loads(value))
    fired: list[tuple[int, str]] = []
    while timers and timers[0][0] <= NOW:
        due, token, contact, kind = heapq.heappop(timers)
        if (due, token, kind) not in all_pending(states[contact]):
            continue  # replaced or ended meanwhile: the runtime does not fire it either
        fired.append((due, kind))
        props = {"token": token, "due": due, "kind": kind, "fired_at": NOW}
        run({"event_id": f"timer:{token}", "contact_id": contact, "type": "timer.fired", "ts": due,
             "properties": props})  # fmt: skip
    pending = {timer for state in states.values() for timer in all_pending(state)}
    assert {kind for _, kind in fired} >= {"wait", "timeout"}  # the backdated runs' waits fire by `now`
    assert any(kind == ML_TIMER_KIND for _, _, kind in pending)  # and the models do schedule wake-ups
    assert max(due for due, _ in fired) <= NOW - 30 * MINUTE
    too_close = sorted((due - NOW) // MINUTE for due, _, _ in pending if due <= NOW + HOUR)
    assert too_close == []  # minutes after `now` of the wake-ups that would fire or not by timing
    assert transitions[("abandoned_cart", "goal")] > 0 and transitions[("document_workflow", "goal")] > 0
    assert transitions[("abandoned_cart", "resumed")] > 0
    assert actions > 0


def result(workers: int) -> RuntimeResult:
    return RuntimeResult(
        workers=workers, first_sight=Phase(100, 1.0), mixed=Phase(1000, 0.5), processed=1010, lag_zero_s=1.0,
        latency=latency_summary([10.0, 20.0, 30.0]), paced_rate=100.0, action_records=5, actions_distinct=5,
        action_digest="d", actions_by_channel={"email": 5}, step_records=9, dead_letters=0,
        timers=TimerCheck(3, 3, None, 7, None), lag_end=0, started_ms=0, ended_ms=0,
        logs=[],
    )  # fmt: skip


def test_action_digest_depends_on_the_set_only() -> None:
    assert action_digest(["b", "a", "a"]) == action_digest(["a", "b"])
    assert action_digest(["a", "b"]) != action_digest(["a", "c"])


def test_timer_window_problems_name_the_timing_dependent_timers() -> None:
    fine = TimerCheck(3, 3, fired_due_max=900, pending=7, pending_due_min=5000)
    assert timer_window_problems(fine, now_ms=1000, first_start_ms=1100, last_end_ms=4000) == []
    late_fire = TimerCheck(3, 3, fired_due_max=1050, pending=7, pending_due_min=5000,
                           fired_due_max_kind="wait")  # fmt: skip
    problems = timer_window_problems(late_fire, now_ms=1000, first_start_ms=1100, last_end_ms=4000)
    assert len(problems) == 1 and "(wait)" in problems[0] and "1050" in problems[0]
    early_pending = TimerCheck(3, 3, fired_due_max=None, pending=7, pending_due_min=3000)
    problems = timer_window_problems(early_pending, now_ms=1000, first_start_ms=1100, last_end_ms=4000)
    assert len(problems) == 1 and "3000" in problems[0]


def test_table_lists_every_run_with_its_rate() -> None:
    lines = table_lines([], [result(1), result(2)])
    assert len(lines) == 3
    assert lines[1].split()[:3] == ["runtime,", "1", "worker"] and "2,000" in lines[1]
    assert lines[2].split()[:3] == ["runtime,", "2", "workers"]


def fast(workers: int, stalled: str = "") -> RuntimeResult:
    """A run whose mixed stream went at 10,000 ev/s (first sights 1,000), or whose ``stalled`` phase stalled
    after those figures were taken."""
    run = result(workers)
    run.first_sight, run.mixed = Phase(1_000, 1.0), Phase(10_000, 1.0)
    if stalled:
        run.extra["stalls"] = {stalled: "lag 500, no longer shrinking"}
    return run


def test_a_stalled_phase_has_no_rate_no_ratio_and_misses_the_target(
    capsys: pytest.CaptureFixture[str],
) -> None:
    workload = generate_workload(10, 5, 0, now_ms=NOW)
    a = PathResult("a", "uvloop", "", 10_000, 2.0, 5_000.0, latency_summary([1.0]), 0.0, 0.0, 0.0)
    healthy = summarise(workload, [a], [fast(1), fast(2)])
    assert healthy["ratios"] == {"runtime/a": 2.0} and healthy["target_met"] is True
    assert healthy["scaling"] == {"2w/1w": 1.0} and healthy["scaling_first_sight"] == {"2w/1w": 1.0}

    stalled = fast(1, "mixed")
    summary = summarise(workload, [a], [stalled, fast(2)])
    assert summary["ratios"] == {} and summary["target_met"] is False
    assert summary["scaling"] == {} and summary["scaling_first_sight"] == {"2w/1w": 1.0}
    assert stalled.mixed_rate is None and stalled.first_sight_rate == 1_000.0
    figures = stalled.as_dict()
    assert figures["mixed"]["events_per_s"] is None and figures["processed_per_s"] is None
    assert figures["first_sight"]["events_per_s"] == 1_000.0
    row = table_lines([a], [stalled])[2]
    assert row.split()[:5] == ["runtime,", "1", "worker", "STALLED", "20"] and "10,000" not in row
    opts = parse_options(["--workers", "1,2", "--baselines", "a"])
    print_report(opts, workload, [a], [stalled, fast(2)], summary)
    printed = capsys.readouterr().out
    assert "runtime/a =" not in printed and "ratios: none, the runtime's mixed phase STALLED" in printed
    assert "ev/s in one worker: NOT met (the mixed phase STALLED: no rate)" in printed
    assert "[1w] STALLED in the mixed phase" in printed

    first_stalled = summarise(workload, [a], [fast(1), fast(2, "first_sight")])
    assert first_stalled["scaling"] == {"2w/1w": 1.0} and first_stalled["scaling_first_sight"] == {}
    assert first_stalled["ratios"] == {"runtime/a": 2.0} and first_stalled["target_met"] is True


def test_the_peer_is_a_baseline_and_unknown_paths_are_refused() -> None:
    assert parse_options(["--baselines", "a,q"]).baselines == ["a", "q"]
    assert parse_options([]).baselines == ["a", "b", "q"]
    with pytest.raises(SystemExit):
        parse_options(["--baselines", "a,x"])


def test_the_peer_counts_per_key_in_its_state() -> None:
    state: dict[str, Any] = {}

    class State:  # the two calls quix-streams' State offers that the peer uses
        def get(self, key: str, default: Any = None) -> Any:
            return state.get(key, default)

        def set(self, key: str, value: Any) -> None:
            state[key] = value

    first = quix_peer.count_per_key({"type": "x"}, State())
    second = quix_peer.count_per_key({"type": "y"}, State())
    assert (first["count"], second["count"], second["type"]) == (1, 2, "y")


def test_the_table_names_every_baseline() -> None:
    result = PathResult("q", "uvloop", "m", 10, 1.0, 10.0, latency_summary([5.0]), 10.0, 100.0, 1.0)
    lines = table_lines([result], [])
    assert lines[1].startswith("(q) quix-streams peer")


def test_process_cpu_seconds_counts_this_process_work_and_none_for_a_gone_process() -> None:
    before = process_cpu_seconds(os.getpid())
    assert before is not None
    deadline = time.process_time() + 0.3
    while time.process_time() < deadline:  # burn CPU time, not wall time
        pass
    after = process_cpu_seconds(os.getpid())
    assert after is not None and after - before >= 0.2
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert process_cpu_seconds(gone.pid) is None


def test_machine_busy_seconds_counts_every_state_but_idle_and_io_wait(tmp_path: Path) -> None:
    stat = tmp_path / "stat"
    tick = os.sysconf("SC_CLK_TCK")
    # user nice system idle iowait irq softirq steal guest guest_nice
    stat.write_text(f"cpu  {tick} {2 * tick} {3 * tick} 999999 888888 {4 * tick} {5 * tick} {6 * tick} 7 8\n"
                    "cpu0 1 1 1 1 1 1 1 1 0 0\n")  # fmt: skip
    assert machine_busy_seconds(stat) == 21.0
    stat.write_text("intr 1 2 3\n")
    assert machine_busy_seconds(stat) is None
    assert machine_busy_seconds(tmp_path / "missing") is None
    real = machine_busy_seconds()
    assert real is not None and real > 0


def test_cpu_delta_sums_the_workers_and_refuses_a_missing_reading() -> None:
    assert cpu_delta([1.0, 2.0], [4.5, 3.0]) == 4.5
    assert cpu_delta([1.0, None], [4.5, 3.0]) is None
    assert cpu_delta([1.0, 2.0], [4.5, None]) is None


def test_logged_errors_finds_error_lines_in_both_log_formats_and_counts_a_missing_log(tmp_path: Path) -> None:
    readable = tmp_path / "w0.log"
    readable.write_text(
        "[2026-12-05 18:46:27,348] [8786] [INFO] [^Worker]: Starting... \n"
        "[2026-12-05 18:49:02,117] [9282] [ERROR] [^Worker]: Error stopping child: AttributeError('x')\n"
        "[2026-12-05 18:49:02,200] [9282] [WARNING] [^Worker]: an [ERROR] in a message is not a level\n"
    )
    structured = tmp_path / "w1.log"
    structured.write_text(
        '{"ts":"2026-12-05T18:49:02.117+00:00","level":"info","logger":"x","message":"ready","pid":1}\n'
        '{"ts":"2026-12-05T18:49:03.126+00:00","level":"critical","logger":"x","message":"gone","pid":1}\n'
    )
    found = logged_errors([str(readable), str(structured), str(tmp_path / "absent.log")])
    assert [line.split(":", 1)[0] for line in found] == ["w0.log", "w1.log", str(tmp_path / "absent.log")]
    assert "AttributeError('x')" in found[0] and '"message":"gone"' in found[1] and "not readable" in found[2]
    assert logged_errors([str(readable)])[0].startswith("w0.log: [2026-12-05 18:49:02,117] [9282] [ERROR]")


def test_the_summary_counts_each_runs_logged_errors() -> None:
    quiet, failing = result(1), result(2)
    failing.extra["logged_errors"] = ["w0.log: [ERROR] a", "w1.log: [ERROR] b"]
    summary = summarise(generate_workload(10, 5, 0, now_ms=NOW), [], [quiet, failing])
    assert summary["workers_logged_errors"] == {1: 0, 2: 2}
