"""Each node type and setting in isolation: small inline workflows driven by the harness."""

from __future__ import annotations

from typing import Any

from engine.types import Event
from engine.validation import load_workflow
from engine.workflows import WorkflowSet
from tests.engine.fixtures import DAY, HOUR, T0, Harness, make_event, timer_event, workflow_text


def harness_for(body: str, **top: object) -> Harness:
    return Harness(WorkflowSet([load_workflow(workflow_text(body, **top))]))


def test_wait_duration_then_action_and_end_of_path() -> None:
    harness = harness_for("""  a: {type: wait, duration: 90m, next: b}
  b: {type: action, action: send_sms, params: {body: hi}}
""")
    harness.send("go")
    assert harness.requested() == [("a", "wait", 90 * 60_000)]
    harness.run_until(T0 + DAY)
    assert harness.sent() == [("b", "send_sms", 90 * 60_000)]
    assert harness.transitions() == [
        (None, "entered"),
        ("a", "waited"),
        ("a", "resumed"),
        ("b", "acted"),
        (None, "exited"),
    ]


def test_wait_until_date_property_minus_offset_and_missing_date_continues() -> None:
    body = """  a: {type: wait, until_date: contact.renewal_date, before: 1d, next: b}
  b: {type: action, action: send_email, params: {template: renew}}
"""
    harness = harness_for(body)
    harness.send("contact.added", renewal_date="2026-01-11")
    harness.send("go")
    assert harness.requested() == [("a", "wait", 9 * DAY - 10 * HOUR)]  # local midnight UTC, minus a day
    missing = harness_for(body)
    missing.send("go")
    assert missing.sent() == [("b", "send_email", 0)]
    assert "missing" in missing.trace[1]["reason"]


def test_wait_until_weekend_day() -> None:
    harness = harness_for("""  a: {type: wait, days: [sat, sun], next: b}
  b: {type: exit}
""")
    harness.send("go")  # Thursday -> Saturday 00:00 UTC
    assert harness.requested() == [("a", "wait", 2 * DAY - 10 * HOUR)]


def test_wait_for_filter_and_key() -> None:
    harness = harness_for("""  a:
    type: wait_for
    event: purchase
    key: cart_id
    filter: "event.amount > 10"
    timeout: 1d
    on_event: yes_
    on_timeout: no_
  yes_: {type: exit, reason: bought}
  no_: {type: exit, reason: timed out}
""")
    harness.send("go", cart_id="k1")
    harness.send("purchase", cart_id="k1", amount=5)  # filter false
    harness.send("purchase", cart_id="k2", amount=50)  # other key
    assert harness.live_runs() != {}
    harness.send("purchase", cart_id="k1", amount=50)
    assert harness.transitions()[-2:] == [("a", "resumed"), ("yes_", "exited")]


def test_branch_in_order_with_default() -> None:
    body = """  a:
    type: branch
    branches:
      - {when: "contact.plan == 'pro'", next: pro}
      - {when: "contact.plan exists", next: other}
    default: none
  pro: {type: exit, reason: pro}
  other: {type: exit, reason: other}
  none: {type: exit, reason: none}
"""
    outcomes = []
    attr_sets: tuple[dict[str, Any], ...] = ({"plan": "pro"}, {"plan": "free"}, {})
    for attrs in attr_sets:
        harness = harness_for(body)
        harness.send("contact.added", **attrs)
        harness.send("go")
        outcomes.append(harness.trace[-1]["reason"])
    assert outcomes == ["pro", "other", "none"]


def test_switch_on_value() -> None:
    body = """  a:
    type: switch
    value: "event.tier"
    cases: [{equals: 1, next: one}, {equals: gold, next: gold}]
    default: other
  one: {type: exit, reason: one}
  gold: {type: exit, reason: gold}
  other: {type: exit, reason: other}
"""
    outcomes = []
    for tier in (1, "gold", True, None):
        harness = harness_for(body)
        harness.send("go", tier=tier)
        outcomes.append(harness.trace[-1]["reason"])
    assert outcomes == ["one", "gold", "other", "other"]


def test_split_is_stable_and_roughly_weighted() -> None:
    body = """  a:
    type: split
    arms: [{name: a, weight: 70, next: x}, {name: b, weight: 30, next: x}]
  x: {type: exit}
"""
    workflows = WorkflowSet([load_workflow(workflow_text(body))])
    counts = {"a": 0, "b": 0}
    for n in range(2000):
        harness = Harness(workflows, contact_id=f"c{n}")
        harness.send("go")
        arm = harness.trace[1]["arm"]
        again = Harness(workflows, contact_id=f"c{n}")
        again.send("go")
        assert again.trace[1]["arm"] == arm
        counts[arm] += 1
    assert 1250 < counts["a"] < 1550


def test_split_arm_is_in_run_vars_for_later_conditions() -> None:
    harness = harness_for("""  a:
    type: split
    arms: [{name: only, weight: 100, next: w}]
  w: {type: wait, duration: 1h, next: b}
  b:
    type: branch
    branches: [{when: "run.vars.arms.a == 'only'", next: yes_}]
    default: no_
  yes_: {type: exit, reason: arm seen}
  no_: {type: exit, reason: arm lost}
""")
    harness.send("go")
    assert harness.live_runs()["t"]["vars"]["arms"] == {"a": "only"}
    harness.run_until(T0 + DAY)
    assert harness.trace[-1]["reason"] == "arm seen"


def test_internal_actions_change_the_state() -> None:
    harness = harness_for("""  a:
    type: action
    action: update_contact
    params: {fields: {plan: pro, old: null}, status: active}
    next: b
  b: {type: action, action: add_tag, params: {tags: [x, y]}, next: c}
  c: {type: action, action: remove_tag, params: {tag: x}, next: d}
  d: {type: action, action: update_score, params: {name: engagement, value: 42}, next: e}
  e: {type: action, action: update_score, params: {name: engagement, delta: 8}}
""")
    harness.send("contact.added", old=1)
    harness.send("go")
    profile = harness.state["profile"]  # type: ignore[index]
    assert profile["attrs"] == {"plan": "pro", "status": "active"}
    assert profile["tags"] == ["y"]
    assert profile["scores"] == {"engagement": 50.0}
    assert harness.actions == []
    assert [e["transition"] for e in harness.trace[1:6]] == ["applied"] * 5


def two_workflows() -> WorkflowSet:
    main = workflow_text("""  a: {type: action, action: start_workflow, params: {workflow: other}, next: w}
  w: {type: wait, duration: 1d, next: s}
  s: {type: action, action: stop_workflow, params: {workflow: other}}
""")
    other = workflow_text(
        "  a: {type: wait, duration: 30d, next: b}\n  b: {type: action, action: send_email,"
        " params: {template: x}}\n",
        id="other",
        trigger="{event: never_sent}",
    )
    return WorkflowSet([load_workflow(main), load_workflow(other)])


def test_start_and_stop_workflow() -> None:
    harness = Harness(two_workflows())
    harness.send("go")
    assert set(harness.live_runs()) == {"t", "other"}
    harness.run_until(T0 + 2 * DAY)
    assert harness.live_runs() == {}
    assert any(e["reason"] == "stopped by t" for e in harness.trace)
    harness.run_until(T0 + 40 * DAY)
    assert harness.actions == []


def test_goal_within_window_only() -> None:
    body = """  a: {type: wait, duration: 10d, next: b}
  b: {type: action, action: send_email, params: {template: x}}
  g: {type: goal, event: purchase, within: 2d}
"""
    early = harness_for(body)
    early.send("go")
    early.send("purchase", at=T0 + DAY)
    assert early.transitions()[-1] == ("g", "goal")
    late = harness_for(body)
    late.send("go")
    late.send("purchase", at=T0 + 3 * DAY)
    late.run_until(T0 + 11 * DAY)
    assert late.sent() == [("b", "send_email", 10 * DAY)]


def test_stale_duplicate_and_early_timers_are_ignored() -> None:
    harness = harness_for(
        "  a: {type: wait, duration: 1h, next: b}\n  b: {type: action, action: send_sms, params: {body: x}}\n"
    )
    harness.send("go")
    timer = harness.timers[0]
    early = harness.apply({**timer_event(timer), "ts": T0 + 60})
    assert early.trace[0]["transition"] == "ignored" and early.actions == []
    first = harness.apply(timer_event(timer))
    duplicate = harness.apply(timer_event(timer))
    assert len(first.actions) == 1 and duplicate.actions == []
    assert (duplicate.trace[0]["transition"], duplicate.trace[0]["reason"]) == ("ignored", "duplicate")
    assert duplicate.duplicate and duplicate.state == first.state
    # a later delivery of the same wake-up (same id, another time) meets a consumed token instead
    late = harness.apply({**timer_event(timer), "ts": timer_event(timer)["ts"] + 5})
    assert late.actions == [] and late.trace[0]["reason"] == "stale or unknown timer token"


def test_action_ids_are_deterministic_and_distinct_per_visit() -> None:
    body = """  a: {type: action, action: send_sms, params: {body: x}, next: w}
  w: {type: wait, duration: 1h, next: a}
"""
    one, two = harness_for(body), harness_for(body)
    for harness in (one, two):
        harness.send("go")
        harness.run_until(T0 + 3 * HOUR + 1)
    ids_one = [a["action_id"] for a in one.actions]
    assert ids_one == [a["action_id"] for a in two.actions]
    assert len(ids_one) == 4 and len(set(ids_one)) == 4


def test_event_for_another_contact_state_is_independent() -> None:
    workflows = WorkflowSet([load_workflow(workflow_text("  a: {type: exit}\n"))])
    from engine.step import step

    result = step(None, make_event("go", T0, contact_id="zed"), workflows, T0)
    assert result.state["contact_id"] == "zed" and result.state["offset"] == -1
    assert result.trace[0]["contact_id"] == "zed"


def test_contact_channel_actions_take_the_address_from_the_profile_unless_given() -> None:
    from engine.step import step
    from engine.workflows import WorkflowSet

    definition = {
        "id": "addr", "version": 1, "name": "Addresses", "status": "published", "trigger": {"event": "go"},
        "start": "mail",
        "nodes": {
            "mail": {"type": "action", "action": "send_email", "params": {"subject": "Hi"}, "next": "text"},
            "text": {"type": "action", "action": "send_sms", "params": {"body": "Hi"}, "next": "other"},
            "other": {"type": "action", "action": "send_email", "params": {"subject": "Hi", "to": "x@y.z"}},
        },
    }  # fmt: skip
    workflows = WorkflowSet.from_definitions([definition])
    added: Event = {
        "event_id": "a",
        "contact_id": "c",
        "type": "contact.added",
        "ts": 1,
        "properties": {"email": "c@e.x"},
    }
    state = step(None, added, workflows, 1).state
    go: Event = {"event_id": "b", "contact_id": "c", "type": "go", "ts": 2, "properties": {}}
    actions = step(state, go, workflows, 2).actions
    assert [a["params"].get("to") for a in actions] == ["c@e.x", None, "x@y.z"]  # no phone: the sink says so


def test_a_templated_send_carries_the_contact_its_sink_renders_with() -> None:
    body = "  a: {type: action, action: send_email, params: {template: hi, subject: Hi}, next: b}\n"
    body += '  b: {type: action, action: send_sms, params: {body: "no template file"}}\n'
    harness = harness_for(body)
    harness.send("contact.added", first_name="Ada", email="ada@example.com", add_tags=["vip"])
    harness.send("go")
    email, sms = harness.actions
    assert email["profile"]["attrs"] == {"first_name": "Ada", "email": "ada@example.com"}
    assert email["profile"]["tags"] == ["vip"]
    assert set(email["profile"]) <= {"attrs", "tags", "scores", "affinity", "first_seen", "last_seen"}
    assert "counts" not in email["profile"]  # bounded: not the per-type counts
    assert "profile" not in sms  # nothing renders a file for it
