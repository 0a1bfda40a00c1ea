"""Keyed runs (`settings.run_key`): one live run per contact and key value, with re-entry, goals, exit
criteria and wait_for per key; the abandoned-cart example is keyed by cart."""

from __future__ import annotations

import pytest

from engine.exceptions import WorkflowInvalid
from engine.validation import load_workflow
from engine.workflows import WorkflowSet
from tests.engine.fixtures import HOUR, T0, Harness, example_set, workflow_text


def cart_harness() -> Harness:
    harness = Harness(example_set("abandoned_cart"))
    harness.send("contact.added", first_name="Ada", email="ada@example.com")
    return harness


def reminded(harness: Harness) -> list[tuple[str, str, int]]:
    return [(a["node_id"], a["params"]["cart_id"], a["ts"] - T0) for a in harness.actions]


def test_two_carts_are_each_reminded() -> None:
    harness = cart_harness()
    harness.send("cart.created", cart_id="k1")
    harness.send("cart.created", at=T0 + HOUR, cart_id="k2")  # while k1's run is live
    assert set(harness.live_runs()) == {"abandoned_cart#k1", "abandoned_cart#k2"}
    harness.run_until(T0 + 4 * HOUR)
    assert reminded(harness) == [("reminder", "k1", 2 * HOUR), ("reminder", "k2", 3 * HOUR)]


def test_a_purchase_converts_only_its_own_cart() -> None:
    harness = cart_harness()
    harness.send("cart.created", cart_id="k1")
    harness.send("cart.created", at=T0 + HOUR, cart_id="k2")
    result = harness.send("purchase", at=T0 + 5 * HOUR, cart_id="k2", amount=30)
    assert [(e["node_id"], e["transition"]) for e in result.trace] == [("purchased", "goal")]
    assert set(harness.live_runs()) == {"abandoned_cart#k1"}
    harness.run_until(T0 + 30 * HOUR)
    assert reminded(harness) == [
        ("reminder", "k1", 2 * HOUR),
        ("reminder", "k2", 3 * HOUR),
        ("discount", "k1", 26 * HOUR),  # k1 still not bought
    ]


def test_the_same_cart_again_does_not_start_a_second_run() -> None:
    harness = cart_harness()
    harness.send("cart.created", cart_id="k1")
    result = harness.send("cart.created", at=T0 + HOUR, cart_id="k1")
    assert [e["reason"] for e in result.trace] == [
        "trigger 0: cart.created: already in a live run of this workflow for this key"
    ]
    assert set(harness.live_runs()) == {"abandoned_cart#k1"}


KEYED = """\
  a: {type: wait_for, event: done, timeout: 1h, on_event: yes, on_timeout: no}
  yes: {type: action, action: send_email, params: {template: yes, to: a@example.com}}
  no: {type: action, action: send_email, params: {template: no, to: a@example.com}}
"""


def keyed(settings: str) -> Harness:
    text = workflow_text(KEYED, trigger="{event: go}", settings=settings)
    return Harness(WorkflowSet([load_workflow(text)]))


def test_wait_for_and_exit_criteria_act_per_key() -> None:
    harness = keyed("{reentry: always, run_key: ticket, exit_when: [{event: closed}]}")
    harness.send("go", ticket="t1")
    harness.send("go", ticket="t2")
    harness.send("go", ticket="t3")
    harness.send("done", at=T0 + 10 * 60_000, ticket="t1")
    harness.send("closed", at=T0 + 20 * 60_000, ticket="t2")
    harness.run_until(T0 + 2 * HOUR)
    outcome = sorted((a["params"]["template"], a["run_id"]) for a in harness.actions)
    assert [template for template, _ in outcome] == ["no", "yes"]  # t1 done, t2 closed, t3 timed out
    assert harness.live_runs() == {}


def test_an_event_without_the_key_reaches_every_run_and_has_a_slot_of_its_own() -> None:
    harness = keyed("{reentry: always, run_key: ticket}")
    harness.send("go", ticket="t1")
    harness.send("go", ticket="t2")
    harness.send("go")  # no ticket: the workflow's unkeyed run
    assert set(harness.live_runs()) == {"t#t1", "t#t2", "t"}
    harness.send("done", at=T0 + 60_000)  # no ticket: ends every waiting run
    assert sorted(a["params"]["template"] for a in harness.actions) == ["yes", "yes", "yes"]


def test_re_entry_is_counted_per_key() -> None:
    harness = keyed("{reentry: never, run_key: ticket}")
    harness.send("go", ticket="t1")
    harness.send("done", at=T0 + 60_000, ticket="t1")
    harness.send("go", at=T0 + 2 * 60_000, ticket="t1")  # the same key again: never
    harness.send("go", at=T0 + 3 * 60_000, ticket="t2")  # another key: its first entry
    entered = [e["run_id"] for e in harness.trace if e["transition"] == "entered"]
    assert len(entered) == 2
    assert set(harness.live_runs()) == {"t#t2"}


def test_in_workflow_sees_a_keyed_run() -> None:
    harness = keyed("{reentry: always, run_key: ticket}")
    harness.send("go", ticket="t1")
    state = harness.state
    assert state is not None
    assert {run["workflow_id"] for run in state["runs"].values()} == {"t"}


@pytest.mark.parametrize("value", ["cart id", "1cart", "[a]"])
def test_a_bad_run_key_is_refused_with_its_path(value: str) -> None:
    text = workflow_text(KEYED, settings=f"{{run_key: '{value}'}}")
    with pytest.raises(WorkflowInvalid, match=r":6:\d+: run_key must be an event property name"):
        load_workflow(text)
