"""The worker's side of the circuit breaker (agents/breaker.py): on a trip, the pause record for the
catalog, the ops notification and the step record; a resumed workflow is counted afresh."""

from __future__ import annotations

from dataclasses import replace

import orjson

from agents.breaker import BreakerGuard, Record
from agents.definitions import compile_all
from engine.breaker import BreakerSettings
from engine.step import step
from engine.types import ContactState
from engine.validation import load_workflow
from engine.workflows import WorkflowSet
from tests.engine.fixtures import T0, make_event, workflow_text

LOOP = load_workflow(
    workflow_text(
        "  a: {type: action, action: crm_update, params: {fields: {stage: touched}}}\n",
        id="crm_touch",
        trigger="{event: crm.updated}",
        settings="{reentry: always, max_runs: {max: 1000, per: 1d}}",
    )
)
SETTINGS = BreakerSettings(window_ms=60_000, history=5, factor=5.0, floor=50)


def compute(
    guard: BreakerGuard, workflows: WorkflowSet, events: int, start: int
) -> tuple[list[tuple[str, bytes, bytes]], tuple[Record, ...]]:
    """A batch of ``events`` as the processor computes it: each step observed, then the trips' records not
    yet delivered handed over with the batch. (What it sent, what it carries.)"""
    sent: list[tuple[str, bytes, bytes]] = []
    applied: list[tuple[bytes, bytes]] = []
    state: ContactState | None = None
    for i in range(events):
        event = make_event("crm.updated", start + i * 60_000 // events, "c1", f"e{start}-{i}")
        result = step(state, event, workflows, event["ts"])
        state = result.state
        guard.observe(workflows, event, result, lambda k, v: applied.append((k, v)))
    carried = guard.hand_over(lambda t, k, v: sent.append((t, k or b"", v)))
    assert {key for key, _ in applied} <= {key for topic, key, _ in sent if topic == "catalog"}
    return sent, carried


def run(
    guard: BreakerGuard, workflows: WorkflowSet, events: int, start: int
) -> list[tuple[str, bytes, bytes]]:
    """A batch computed and written."""
    sent, carried = compute(guard, workflows, events, start)
    guard.delivered(carried)
    return sent


def test_a_trip_pauses_notifies_and_records_why() -> None:
    workflows = WorkflowSet([LOOP])
    guard = BreakerGuard("catalog", "notify", "analytics", SETTINGS)
    for minute in range(5):
        assert run(guard, workflows, 5, T0 + minute * 60_000) == []  # 5 a minute: the recent rate
    sent = run(guard, workflows, 200, T0 + 5 * 60_000)  # 200 in the next minute
    assert [topic for topic, _, _ in sent] == ["catalog", "notify", "analytics"]
    catalog, notify, analytics = (orjson.loads(value) for _, _, value in sent)
    assert sent[0][1] == b"crm_touch@1" and catalog["status"] == "paused" and catalog["id"] == "crm_touch"
    paused, _, _ = compile_all([(sent[0][1], sent[0][2])])
    assert paused.governing["crm_touch"].status == "paused" and "crm_touch" not in paused.entry
    assert notify["channel"] == "notify" and notify["params"]["team"] == "ops"
    assert "switchyard workflows resume crm_touch" in notify["params"]["message"]
    assert analytics["transition"] == "paused" and analytics["reason"].startswith(
        "circuit breaker: 50 entries in 1m against 5.0 per 1m"  # the floor, past 5x the mean
    )
    assert guard.trips_total == 1
    assert run(guard, workflows, 200, T0 + 6 * 60_000) == []  # tripped once; the pause takes over


def test_a_resumed_workflow_is_counted_afresh_and_the_notice_id_is_stable() -> None:
    workflows = WorkflowSet([LOOP])
    ids = []
    for _ in range(2):
        guard = BreakerGuard("catalog", "notify", "analytics", replace(SETTINGS, min_history=0))
        sent = run(guard, workflows, 60, T0)
        ids.append(orjson.loads(sent[1][2])["action_id"])
        guard.follow(workflows)  # published again (resumed): the trip is forgotten
        assert guard.breaker.tripped == {}
    assert ids[0] == ids[1]  # the same trip notifies once, whichever worker or retry sends it


def test_a_trip_is_handed_over_with_every_batch_until_one_that_carried_it_is_written() -> None:
    workflows = WorkflowSet([LOOP])
    guard = BreakerGuard("catalog", "notify", "analytics", SETTINGS)
    for minute in range(5):
        run(guard, workflows, 5, T0 + minute * 60_000)
    first, carried = compute(guard, workflows, 200, T0 + 5 * 60_000)  # trips; its effects are refused
    assert [topic for topic, _, _ in first] == ["catalog", "notify", "analytics"] and len(carried) == 3
    # processed again: the workflow is paused here already, so nothing trips, but the records go out again
    again, carried_again = compute(guard, workflows, 200, T0 + 5 * 60_000)
    assert again == first
    guard.delivered(carried_again)
    assert compute(guard, workflows, 5, T0 + 6 * 60_000) == ([], ())
