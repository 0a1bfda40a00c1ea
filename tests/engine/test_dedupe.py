"""Duplicate events applied once (engine.dedupe): the same event delivered again changes nothing, in every
workflow, wake-ups included; the record of seen ids stays bounded."""

from __future__ import annotations

from typing import Any

import orjson
import yaml
from hypothesis import given
from hypothesis import strategies as st

from engine.dedupe import MAX_IDS, STATE_KEY, WIDTH
from engine.step import step
from engine.types import ContactState, Event
from engine.workflows import WorkflowSet
from tests.engine.fixtures import T0, Harness, make_event, timer_event
from tests.engine.test_step_nodes import harness_for
from tests.engine.test_step_properties import EXAMPLES_SET, FAST, steps_strategy

REENTRY = """id: cart
version: 1
status: published
trigger: {event: cart.created}
settings: {reentry: always}
start: a
nodes:
  a: {type: action, action: send_email, params: {template: cart}}
"""


def _set() -> WorkflowSet:
    return WorkflowSet.from_definitions([yaml.safe_load(REENTRY)])


def test_a_duplicate_is_counted_once_and_starts_nothing() -> None:
    harness = Harness(_set())
    event = make_event("cart.created", T0, event_id="retry-1", cart_id="k1")
    first = harness.apply(event)
    again = harness.apply(dict(event))  # type: ignore[arg-type]
    assert len(first.actions) == 1 and again.actions == [] and again.timers == []
    assert again.duplicate and (again.trace[0]["transition"], again.trace[0]["reason"]) == (
        "ignored",
        "duplicate",
    )
    assert harness.state is not None and harness.state["profile"]["counts"]["cart.created"] == 1
    other = harness.apply(make_event("cart.created", T0 + 1, event_id="retry-2", cart_id="k2"))
    assert len(other.actions) == 1  # another event id is another cart


def test_a_duplicate_wake_up_fires_nothing_twice() -> None:
    harness = harness_for(
        "  a: {type: wait, duration: 1h, next: b}\n  b: {type: action, action: send_sms, params: {body: x}}\n"
    )
    harness.send("go")
    wake = timer_event(harness.timers[0])
    assert len(harness.apply(wake).actions) == 1
    assert harness.apply(dict(wake)).duplicate  # type: ignore[arg-type]


def test_the_record_keeps_the_last_256_events() -> None:
    workflows = _set()
    state: ContactState | None = None
    for i in range(MAX_IDS + 40):
        state = step(state, make_event("page.viewed", T0 + i, event_id=f"p{i}"), workflows, T0 + i).state
    assert state is not None and len(state[STATE_KEY]) == MAX_IDS * WIDTH
    oldest = make_event("page.viewed", T0, event_id="p0")
    assert not step(state, oldest, workflows, T0).duplicate  # past the bound: applied again (documented)
    kept = make_event("page.viewed", T0 + 40, event_id="p40")
    assert step(state, kept, workflows, kept["ts"]).duplicate


def play_with_duplicates(
    workflows: WorkflowSet, script: list[tuple[str, int, dict[str, Any]]], repeats: list[int]
) -> tuple[list[dict[str, Any]], ContactState | None]:
    """Like the runtime: due wake-ups delivered between events; after the n-th delivery, `repeats[n]`
    says what is delivered again right away: 0 nothing, 1 the same event, k the (k-1)-th earlier one."""
    state: ContactState | None = None
    pending: list[dict[str, Any]] = []
    actions: list[dict[str, Any]] = []
    delivered: list[Event] = []
    now = T0
    for index, (event_type, gap, props) in enumerate(script):
        now += gap
        queue: list[Event] = [
            timer_event(pending.pop(0)) for _ in range(len(pending)) if pending[0]["due"] <= now
        ]
        queue.append(make_event(event_type, now, event_id=f"e{index}", **props))
        while queue:
            event = queue.pop(0)
            result = step(state, event, workflows, event["ts"])
            state = result.state
            actions += result.actions
            pending = sorted(pending + result.timers, key=lambda t: (t["due"], t["token"]))
            delivered.append(event)
            choice = repeats[len(delivered) % len(repeats)] if repeats else 0
            if choice:
                again = delivered[-min(choice, len(delivered))]
                redo = step(state, again, workflows, again["ts"])
                assert redo.duplicate and redo.actions == [] and redo.timers == []
                state = redo.state
            while pending and pending[0]["due"] <= event["ts"]:
                queue.append(timer_event(pending.pop(0)))
    return actions, state


@FAST
@given(steps_strategy, st.lists(st.integers(0, 4), min_size=1, max_size=30))
def test_any_stream_with_duplicates_gives_the_same_actions_and_state_as_once(
    script: list[tuple[str, int, dict[str, Any]]], repeats: list[int]
) -> None:
    once = play_with_duplicates(EXAMPLES_SET, script, [0])
    twice = play_with_duplicates(EXAMPLES_SET, script, repeats)
    assert orjson.dumps(twice) == orjson.dumps(once)
