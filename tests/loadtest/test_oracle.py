"""The accuracy oracle: replay, simulation with wake-ups, and the action-by-action comparison."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

import orjson

from engine.durations import HOUR
from loadtest.generator import StreamSpec, generate
from loadtest.oracle import Simulation, compare, example_workflows, expected_actions, simulate
from tests.engine.fixtures import T0, Harness, example_set, make_event

END = T0 + 100 * HOUR


def cart_events(*later: tuple[str, int, dict[str, Any]]) -> list[Any]:
    events = [
        make_event("contact.added", T0 - HOUR, event_id="e0", first_name="Ada", email="ada@example.com"),
        make_event("cart.created", T0, event_id="e1", cart_id="k1", value=120),
    ]
    events += [make_event(t, at, event_id=f"e{i + 2}", **props) for i, (t, at, props) in enumerate(later)]
    return events


def test_simulate_abandoned_cart_without_purchase_gives_the_three_step_follow_up() -> None:
    result = simulate(cart_events(), example_workflows("abandoned_cart"), END)
    assert [(a["node_id"], a["type"], a["ts"] - T0) for a in result.actions] == [
        ("reminder", "send_email", 2 * HOUR),
        ("discount", "send_email", 26 * HOUR),
        ("notify_sales", "notify", 50 * HOUR),
    ]
    reminder, discount, notify = result.actions
    assert reminder["params"] == {
        "template": "cart_reminder",
        "cart_id": "k1",
        "subject": "Ada, you left something in your cart",
        "to": "ada@example.com",  # the contact's email attribute, as the action named no recipient
    }
    assert discount["params"]["discount_percent"] == 10 and discount["params"]["cart_id"] == "k1"
    assert notify["channel"] == "notify" and notify["params"]["team"] == "sales"
    assert result.timers_fired == 3
    assert [e["type"] for e in result.delivered["c1"]].count("timer.fired") == 3


def test_simulate_abandoned_cart_purchase_after_the_reminder_ends_it() -> None:
    events = cart_events(
        ("purchase", T0 + 3 * HOUR, {"cart_id": "other", "amount": 10}),
        ("purchase", T0 + 5 * HOUR, {"cart_id": "k1", "amount": 120}),
    )
    result = simulate(events, example_workflows("abandoned_cart"), END)
    assert [(a["node_id"], a["ts"] - T0) for a in result.actions] == [("reminder", 2 * HOUR)]


def test_simulate_abandoned_cart_purchase_after_the_discount_stops_before_sales() -> None:
    events = cart_events(("purchase", T0 + 30 * HOUR, {"cart_id": "k1"}))
    result = simulate(events, example_workflows("abandoned_cart"), END)
    assert [(a["node_id"], a["ts"] - T0) for a in result.actions] == [
        ("reminder", 2 * HOUR),
        ("discount", 26 * HOUR),
    ]


def test_simulate_fires_timers_due_up_to_until_inclusive() -> None:
    workflows = example_workflows("abandoned_cart")
    assert [a["node_id"] for a in simulate(cart_events(), workflows, T0 + 26 * HOUR - 1).actions] == [
        "reminder"
    ]
    assert [a["node_id"] for a in simulate(cart_events(), workflows, T0 + 26 * HOUR).actions] == [
        "reminder",
        "discount",
    ]


def test_a_timer_due_at_an_event_fires_before_it() -> None:
    events = cart_events(("purchase", T0 + 2 * HOUR, {"cart_id": "k1"}))
    result = simulate(events, example_workflows("abandoned_cart"), END)
    assert [a["node_id"] for a in result.actions] == ["reminder"]


@cache
def generated() -> tuple[list[Any], Simulation]:
    traffic = generate(StreamSpec.real_time(contacts=120, events=2400, days=20, start_ms=T0, seed=9))
    until = traffic.spec.start_ms + traffic.spec.duration_ms + 30 * 24 * HOUR
    return traffic.events, simulate(traffic.events, example_workflows(), until)


def test_simulate_agrees_with_the_engine_test_harness_on_generated_traffic() -> None:
    events, simulation = generated()
    until = max(e["ts"] for e in events) + 30 * 24 * HOUR
    harnessed: list[dict[str, Any]] = []
    by_contact: dict[str, list[Any]] = {}
    for event in events:
        by_contact.setdefault(event["contact_id"], []).append(event)
    workflows = example_set()
    for contact in sorted(by_contact):
        harness = Harness(workflows, contact_id=contact)
        for event in by_contact[contact]:
            harness.run_until(event["ts"])
            harness.apply(event)
        harness.run_until(until)
        harnessed.extend(harness.actions)
    assert len(simulation.actions) > 100
    assert {a["workflow_id"] for a in simulation.actions} >= {"abandoned_cart", "welcome_series"}
    assert simulation.actions == harnessed


def test_expected_actions_replays_what_was_delivered() -> None:
    _, simulation = generated()
    assert expected_actions(simulation.delivered, example_workflows()) == simulation.actions


def test_expected_actions_without_the_wake_ups_misses_the_timed_actions() -> None:
    _, simulation = generated()
    no_timers = {
        contact: [e for e in events if e["type"] != "timer.fired"]
        for contact, events in simulation.delivered.items()
    }
    found = compare(simulation.actions, expected_actions(no_timers, example_workflows()))
    assert found.missing > 0 and found.matched < found.expected


def test_a_faithful_emission_decoded_from_json_is_100_percent() -> None:
    _, simulation = generated()
    emitted = [orjson.loads(orjson.dumps(action)) for action in simulation.actions]
    result = compare(simulation.actions, emitted)
    assert result.ok and result.accuracy == 100.0
    assert result.matched == result.expected == result.emitted == len(simulation.actions)
    assert "accuracy: 100.000%" in result.summary()


def test_compare_finds_each_injected_fault() -> None:
    _, simulation = generated()
    expected = simulation.actions
    emitted = copy.deepcopy(expected)
    missing = emitted.pop(0)
    emitted.append({**emitted[0], "action_id": "not-from-the-engine"})
    emitted.append(copy.deepcopy(emitted[1]))  # redelivered, same id and payload
    conflicting = copy.deepcopy(emitted[2])
    conflicting["params"] = {**conflicting["params"], "subject": "changed"}
    emitted.append(conflicting)
    emitted[3] = {**emitted[3], "ts": emitted[3]["ts"] + 1}  # the only copy is wrong
    result = compare(expected, emitted)
    assert (result.missing, result.unexpected, result.duplicates, result.conflicting, result.mismatched) == (
        1,
        1,
        1,
        1,
        1,
    )
    assert result.matched == len(expected) - 2
    assert result.accuracy == 100.0 * (len(expected) - 2) / (len(expected) + 1)
    assert not result.ok
    assert result.examples["missing"] == [missing["action_id"]]
    assert result.examples["unexpected"] == ["not-from-the-engine"]
    assert result.examples["conflicting"] == [conflicting["action_id"]]
    assert result.examples["mismatched"] == [emitted[3]["action_id"]]


def test_same_id_duplicates_alone_keep_the_run_ok() -> None:
    _, simulation = generated()
    emitted = simulation.actions + simulation.actions[:5]
    result = compare(simulation.actions, emitted)
    assert result.ok and result.duplicates == 5 and result.accuracy == 100.0


def test_nothing_expected_and_nothing_emitted_is_accurate() -> None:
    result = compare([], [])
    assert result.ok and result.accuracy == 100.0
    assert compare([], [{"action_id": "x"}]).accuracy == 0.0
