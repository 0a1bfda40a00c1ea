"""The circuit breaker: a workflow whose entries or actions jump far above their recent rate is paused;
steady traffic, planned wake-ups and a slow rise never trip it."""

from __future__ import annotations

import heapq
from dataclasses import replace
from typing import Any

from engine.breaker import BreakerSettings, CircuitBreaker, Trip
from engine.step import step
from engine.types import ContactState, Event
from engine.validation import load_workflow
from engine.workflows import WorkflowSet
from tests.engine.fixtures import MINUTE, T0, make_event, workflow_text

LOOP = workflow_text(
    "  a: {type: action, action: crm_update, params: {fields: {stage: touched}}}\n",
    id="crm_touch",
    trigger="{event: crm.updated}",
    settings="{reentry: always}",
)
SETTINGS = BreakerSettings(window_ms=MINUTE, history=10, factor=5.0, floor=100, min_history=5)


def paused(workflows: WorkflowSet, workflow_id: str) -> WorkflowSet:
    """What the worker does on a trip: the governing version, paused through the catalog."""
    head = workflows.governing[workflow_id]
    return WorkflowSet([*(w for w in workflows if w is not head), replace(head, status="paused")])


def drive(
    contacts: int, loop_from: int | None, minutes: int
) -> tuple[list[Trip], list[dict[str, Any]], list[dict[str, Any]]]:
    """Each contact has one real crm.updated per minute-slot of its own; from minute ``loop_from`` on, the
    CRM sink's outcome of every crm_update comes back as crm.updated 200 ms later (the loop)."""
    workflows = WorkflowSet([load_workflow(LOOP)])
    breaker = CircuitBreaker(SETTINGS)
    states: dict[str, ContactState | None] = {}
    queue: list[tuple[int, str, Event]] = []
    for minute in range(minutes):
        for n in range(contacts):
            ts = T0 + minute * MINUTE + n * (MINUTE // contacts) + (hash(n) % 7)
            event = make_event("crm.updated", ts, f"c{n}", f"real-{minute}-{n}")
            heapq.heappush(queue, (ts, event["event_id"], event))
    trips: list[Trip] = []
    actions: list[dict[str, Any]] = []
    trace: list[dict[str, Any]] = []
    end = T0 + minutes * MINUTE
    while queue:
        ts, _, event = heapq.heappop(queue)
        if ts >= end:
            break
        result = step(states.get(event["contact_id"]), event, workflows, ts)
        states[event["contact_id"]] = result.state
        actions.extend(result.actions)
        trace.extend(result.trace)
        for trip in breaker.observe_step(event, result.trace, result.actions):
            trips.append(trip)
            workflows = paused(workflows, trip.workflow_id)
        if loop_from is not None and ts >= T0 + loop_from * MINUTE:
            for action in result.actions:
                outcome = make_event(
                    "crm.updated", ts + 200, event["contact_id"], f"out-{action['action_id']}"
                )
                heapq.heappush(queue, (ts + 200, outcome["event_id"], outcome))
    return trips, actions, trace


def test_a_self_triggering_workflow_is_stopped_by_the_run_limit_and_the_breaker() -> None:
    trips, actions, trace = drive(contacts=20, loop_from=12, minutes=20)
    assert len(trips) == 1
    trip = trips[0]
    assert trip.workflow_id == "crm_touch" and trip.window_start == T0 + 12 * MINUTE
    assert trip.recent_per_window == 20.0  # one real update per contact and minute
    assert trip.count == SETTINGS.factor * 20 + 1  # the first count over 5x the recent mean (and the floor)
    assert "circuit breaker: 101 entries in 1m against 20.0 per 1m" in trip.reason
    after = [a for a in actions if a["ts"] > trip.window_start + MINUTE]
    assert after == []  # paused: nothing more, although real updates keep coming
    limited = [e for e in trace if "run limit" in (e.get("reason") or "")]
    assert limited  # the per-contact limit (20 a day) stopped contacts before the breaker tripped


def test_steady_traffic_never_trips() -> None:
    trips, actions, _ = drive(contacts=20, loop_from=None, minutes=20)
    assert trips == [] and len(actions) == 20 * 20


def test_a_first_burst_below_the_floor_does_not_trip_and_a_slow_rise_is_followed() -> None:
    breaker = CircuitBreaker(SETTINGS)
    for i in range(SETTINGS.floor - 1):
        assert breaker.observe("w", "entries", T0 + i * 600) is None  # under the floor, no history
    rate = 100
    for minute in range(1, 16):
        rate = int(rate * 1.3)  # +30 % a minute: the recent mean keeps up
        start = T0 + minute * MINUTE
        for i in range(rate):
            assert breaker.observe("w", "entries", start + i * (MINUTE // rate)) is None


def test_a_start_up_backlog_is_not_judged() -> None:
    """A worker that just started has no recent rate: its first `min_history` minutes never trip."""
    breaker = CircuitBreaker(SETTINGS)
    for minute in range(SETTINGS.min_history):
        for i in range(1_000):
            assert breaker.observe("w", "entries", T0 + minute * MINUTE + i) is None
    assert breaker.observe("w", "entries", T0 + SETTINGS.min_history * MINUTE) is None  # 1 vs 1,000 a minute
    judged_at_once = CircuitBreaker(replace(SETTINGS, min_history=0))
    trips = [judged_at_once.observe("w", "entries", T0 + i) for i in range(SETTINGS.floor)]
    assert trips[-1] is not None and trips[-1].recent_per_window == 0.0


def test_wake_ups_do_not_count_and_a_reset_counts_afresh() -> None:
    breaker = CircuitBreaker(replace(SETTINGS, min_history=0))
    timer = make_event("timer.fired", T0)
    entered = [{"transition": "entered", "workflow_id": "w"}] * 500
    assert breaker.observe_step(timer, entered, []) == []
    event = make_event("go", T0)
    assert [t.kind for t in breaker.observe_step(event, entered, [])] == ["entries"]
    assert breaker.observe_step(event, entered, []) == []  # tripped once only
    breaker.reset("w")
    assert breaker.tripped == {} and breaker.counts == {}
