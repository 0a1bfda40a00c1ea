"""The pure pieces of the timer benchmark: due times, the input events and the firing analysis."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from engine.events import Limits, Malformed, decode_event
from engine.step import step
from engine.workflows import WorkflowSet
from loadtest.timer_bench import WORKFLOW, analyse, due_times, report_lines, wait_events

NOW = 1_795_449_787_876


def test_due_times_spread_evenly_over_the_window() -> None:
    dues = due_times(10_000, NOW + 40_000, 60_000)
    assert len(dues) == 10_000 and dues == sorted(dues)
    assert dues[0] == NOW + 40_000 and dues[-1] < NOW + 100_000
    assert dues[5000] - dues[0] == 30_000
    with pytest.raises(ValueError):
        due_times(0, NOW, 1)


def test_wait_events_follow_the_contract_and_drive_the_workflow_to_its_due_time() -> None:
    dues = due_times(50, NOW + 40_000, 60_000)
    records = wait_events(dues, NOW)
    workflows = WorkflowSet.from_definitions([WORKFLOW])
    assert len({key for key, _ in records}) == 50
    for (key, value), due in zip(records, dues, strict=True):
        event = decode_event(value, key, Limits())
        assert not isinstance(event, Malformed), event
        started = step(None, event, workflows, event["ts"])
        assert [t["due"] for t in started.timers] == [due] and not started.actions
        token = started.timers[0]["token"]
        wake = {"event_id": f"timer:{token}", "contact_id": event["contact_id"], "type": "timer.fired",
                "ts": due, "properties": {"token": token, "due": due, "fired_at": due + 3}}  # fmt: skip
        fired = step(started.state, wake, workflows, due)  # type: ignore[arg-type]
        assert [(a["channel"], a["ts"]) for a in fired.actions] == [("notify", due)]


def wakeup(contact: str, due: int, fired_at: int) -> dict[str, Any]:
    return {"contact_id": contact, "type": "timer.fired", "ts": due,
            "properties": {"token": f"k-{contact}", "due": due, "fired_at": fired_at}}  # fmt: skip


def action(contact: str, ts: int) -> dict[str, Any]:
    return {"contact_id": contact, "channel": "notify", "ts": ts}


def test_analyse_counts_duplicates_missing_early_and_lateness() -> None:
    expected = {"a": 1000, "b": 2000, "c": 3000, "d": 4000}
    wakeups = [
        (1010, wakeup("a", 1000, 1005)),
        (2030, wakeup("b", 2000, 2020)),
        (2050, wakeup("b", 2000, 2040)),  # a duplicate: fires twice
        (2990, wakeup("c", 3000, 2980)),  # early
        (9999, wakeup("zz", 1, 2)),  # not one of ours
    ]
    actions = [(1020, action("a", 1000)), (2100, action("b", 2000)), (2100, action("b", 2000)),
               (3100, action("c", 3001))]  # fmt: skip
    report = analyse(expected, wakeups, actions)
    assert (report.fired_contacts, report.fired_total, report.duplicates, report.missing) == (3, 4, 1, 1)
    assert (report.early, report.wrong_due) == (1, 0)
    assert (report.actions_total, report.action_missing, report.action_duplicates) == (4, 1, 1)
    assert report.action_ts_mismatch == 1
    assert (report.lateness.count, report.lateness.missing) == (3, 1)
    assert (report.lateness.p50_ms, report.lateness.max_ms) == (5, 20)
    assert report.action_lateness.max_ms == 100
    assert report.drain_ms == 3100 - 4000 and not report.ok


def test_analyse_passes_a_clean_run_and_reports_it() -> None:
    dues = due_times(20, NOW, 1000)
    expected = {f"t{i}": due for i, due in enumerate(dues)}
    wakeups = [(due + 7, wakeup(c, due, due + 5)) for c, due in expected.items()]
    actions = [(due + 30, action(c, due)) for c, due in expected.items()]
    report = analyse(expected, wakeups, actions)
    assert report.ok and report.duplicates == 0 and report.lateness.max_ms == 5
    assert report.drain_ms == 30
    assert "verdict: OK" in report_lines(report)[-1]


def test_analyse_flags_a_wakeup_for_another_due_time() -> None:
    report = analyse({"a": 1000}, [(1500, wakeup("a", 1400, 1500))], [(1600, action("a", 1000))])
    assert report.wrong_due == 1 and not report.ok
    assert orjson.dumps(report.lateness.as_dict())
