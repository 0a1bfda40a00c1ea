"""Windowed counts in conditions: `count('page.viewed', '7d')` and `rate('a', 'b', '30d')` over hourly
buckets of event time, kept only for the event types loaded workflows count in a window."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.conditions import ConditionError, Scope, compile_condition
from engine.issues import format_issue
from engine.step import step
from engine.types import ContactState
from engine.validation import load_workflow, validate_text
from engine.windowed_counts import BUCKET_MS, STATE_KEY
from engine.workflows import WorkflowSet
from tests.engine.fixtures import DAY, HOUR, T0, Harness, make_event, workflow_text

THREE_IN_7D = "count('page.viewed', '7d') >= 3"
SEND = "  b: {type: action, action: send_email, params: {template: pricing}}\n  c: {type: exit}\n"


def branch_on(when: str, trigger: str = "{event: page.viewed}", **top: str) -> WorkflowSet:
    body = f'  a:\n    type: branch\n    branches: [{{when: "{when}", next: b}}]\n    default: c\n{SEND}'
    text = workflow_text(body, trigger=trigger, settings="{reentry: always}", **top)
    return WorkflowSet([load_workflow(text)])


def sent_on(days: list[int], workflows: WorkflowSet | None = None) -> list[int]:
    h = Harness(workflows or branch_on(THREE_IN_7D))
    return [day for day in days if h.send("page.viewed", at=T0 + day * DAY).actions]


def buckets(state: ContactState | None) -> dict[str, list[list[int]]]:
    found: dict[str, list[list[int]]] = (state or {}).get(STATE_KEY) or {}
    return found


def windowed(source: str, state: ContactState | None, now: int) -> object:
    profile = state["profile"] if state is not None else None
    return compile_condition(source).value(Scope(contact=profile, now=now, buckets=buckets(state)))


def test_three_visits_spread_wider_than_seven_days_are_not_three() -> None:
    assert sent_on([0, 5, 10]) == []


def test_the_visit_making_three_within_seven_days_branches_true() -> None:
    assert sent_on([0, 6, 8, 9]) == [9]
    assert sent_on([0, 7, 8, 14]) == []  # 7 days exactly is outside: buckets starting after now - 7d


def test_windowed_rate_counts_only_the_window_and_is_zero_without_sends() -> None:
    workflows = branch_on("rate('email.clicked', 'email.sent', '30d') >= 0.5", trigger="{event: check}")
    h = Harness(workflows)
    for day in (0, 1, 2, 3):
        h.send("email.sent", at=T0 + day * DAY)
    h.send("email.clicked", at=T0 + DAY)
    assert not h.send("check", at=T0 + 3 * DAY).actions  # 1 click / 4 sends
    h.send("email.sent", at=T0 + 35 * DAY)
    h.send("email.sent", at=T0 + 36 * DAY)
    h.send("email.clicked", at=T0 + 36 * DAY)
    assert h.send("check", at=T0 + 40 * DAY).actions  # 1 / 2 in the window; 2 / 6 all time
    assert h.state is not None and h.state["profile"]["counts"]["email.sent"] == 6
    rate = "rate('email.clicked', 'email.sent', '30d')"
    assert windowed(rate, h.state, T0 + 40 * DAY) == 0.5
    assert windowed(rate, h.state, T0 + 200 * DAY) == 0.0
    assert windowed("rate('email.clicked', 'email.sent')", h.state, T0) == pytest.approx(2 / 6)


def test_only_event_types_counted_in_a_window_get_buckets() -> None:
    workflows = branch_on(THREE_IN_7D)
    assert workflows.count_windows == {"page.viewed": 7 * DAY}
    h = Harness(workflows)
    h.send("email.sent")
    assert h.state is not None and STATE_KEY not in h.state
    h.send("page.viewed")
    assert list(buckets(h.state)) == ["page.viewed"]
    assert STATE_KEY not in Harness(branch_on("count('page.viewed') >= 3")).send("page.viewed").state


def test_old_buckets_are_pruned_past_the_largest_window() -> None:
    workflows = branch_on(f"{THREE_IN_7D} or count('page.viewed', '30d') > 20")
    state: ContactState | None = None
    for day in range(1000):
        event = make_event("page.viewed", T0 + day * DAY)
        state = step(state, event, workflows, event["ts"]).state
    kept = buckets(state)["page.viewed"]
    assert len(kept) == 30 and kept[0][0] > T0 + 969 * DAY
    assert windowed("count('page.viewed', '7d')", state, T0 + 999 * DAY) == 7


def test_hourly_events_keep_at_most_90_days_of_buckets() -> None:
    workflows = branch_on("count('page.viewed', '90d') > 1000")
    state: ContactState | None = None
    for hour in range(95 * 24):
        event = make_event("page.viewed", T0 + hour * HOUR)
        state = step(state, event, workflows, event["ts"]).state
    assert len(buckets(state)["page.viewed"]) == 2160


def test_duplicates_and_timer_wake_ups_are_not_counted_and_the_input_is_not_mutated() -> None:
    workflows = branch_on(f"{THREE_IN_7D} or count('timer.fired', '1d') > 0")
    assert "timer.fired" not in workflows.count_windows
    first = step(None, make_event("page.viewed", T0, event_id="v1"), workflows, T0).state
    frozen = copy.deepcopy(first)
    again = step(first, make_event("page.viewed", T0, event_id="v1"), workflows, T0)
    assert again.duplicate and buckets(again.state) == {"page.viewed": [[T0 - T0 % BUCKET_MS, 1]]}
    later = step(again.state, make_event("page.viewed", T0 + 1, event_id="v2"), workflows, T0 + 1).state
    assert first == frozen
    assert buckets(later) == {"page.viewed": [[T0 - T0 % BUCKET_MS, 2]]}


def test_a_condition_trigger_on_a_windowed_count_is_evaluated_when_a_counted_event_arrives() -> None:
    trigger = "{condition: \"count('page.viewed', '7d') >= 3\"}"
    body = "  a: {type: action, action: send_email, params: {template: pricing}}\n"
    text = workflow_text(body, trigger=trigger, settings="{reentry: always}")
    workflows = WorkflowSet([load_workflow(text)])
    assert workflows.condition_counted == {"page.viewed"}
    assert sent_on([0, 5, 10], workflows) == []
    assert sent_on([0, 6, 8, 9], workflows) == [9]
    assert sent_on([0, 1, 2, 20, 21, 22], workflows) == [2, 22]  # false again once days 0-2 left the window


@pytest.mark.parametrize(
    ("source", "position", "message"),
    [
        ("count('page.viewed', '7 days') >= 3", 21, "not a duration: '7 days'"),
        ("count('page.viewed', '400d') >= 3", 21, "window too long: '400d'"),
        ("count('page.viewed', '30m') >= 3", 21, "window too short: '30m'"),
        ("count('page.viewed', contact.window) >= 3", 21, "the window of count() must be a literal duration"),
        ("count('page.viewed', true)", 21, "must be a duration such as '7d'"),
        ("rate('email.clicked', 'email.sent', '91d')", 36, "window too long: '91d'"),
        ("count(event.type, '7d')", 6, "a windowed count() needs the event type as quoted text"),
        ("count('page.viewed', '7d', '1d')", 0, "count() takes 1 to 2 arguments (3 given)"),
    ],
)
def test_invalid_windows_are_refused_with_message_and_position(
    source: str, position: int, message: str
) -> None:
    with pytest.raises(ConditionError) as caught:
        compile_condition(source)
    assert caught.value.position == position
    assert message in caught.value.message
    assert f"(position {position})" in str(caught.value)


def test_window_errors_give_the_bounds() -> None:
    with pytest.raises(ConditionError, match="window too long") as caught:
        compile_condition("count('page.viewed', '400d') >= 3")
    assert caught.value.hint is not None and "windows go from 1h to 90d" in caught.value.hint


def test_a_bare_duration_literal_is_a_window_too() -> None:
    assert compile_condition("count('page.viewed', 7d) >= 3").windows == {("page.viewed", 7 * DAY)}


def test_an_invalid_window_in_a_definition_names_the_yaml_line_and_column() -> None:
    body = "  a:\n    type: branch\n    branches:\n      - when: \"count('page.viewed', '400d') >= 3\"\n"
    text = workflow_text(body + "        next: b\n    default: c\n" + SEND)
    issue = next(issue for issue in validate_text(text, "wf.yaml") if "condition" in issue.message)
    assert "window too long: '400d'" in issue.message and issue.node_id == "a"
    line = text.splitlines()[(issue.line or 0) - 1]
    assert issue.column is not None and line[issue.column - 1 :].startswith("'400d'"), format_issue(issue)


WINDOWS = ("1h", "5h", "24h", "2d", "7d", "30d", "90d")


@settings(max_examples=60, deadline=None)
@given(
    gaps=st.lists(st.integers(min_value=0, max_value=3 * DAY), min_size=1, max_size=40),
    aligned=st.booleans(),
    repeats=st.lists(st.integers(min_value=0, max_value=39), max_size=5),
    window=st.sampled_from(WINDOWS),
)
def test_windowed_count_matches_a_brute_force_count(
    gaps: list[int], aligned: bool, repeats: list[int], window: str
) -> None:
    workflows = branch_on("count('page.viewed', '90d') > 1000")
    window_ms = {"h": HOUR, "d": DAY}[window[-1]] * int(window[:-1])
    state: ContactState | None = None
    delivered: list[int] = []
    now = T0
    for index, gap in enumerate(gaps):
        now += gap - gap % HOUR if aligned else gap
        event = make_event("page.viewed", now, event_id=f"v{index}")
        state = step(state, event, workflows, now).state
        delivered.append(now)
        if index in repeats:  # a redelivery: same id and time, never counted twice
            state = step(state, event, workflows, now).state
        counted = windowed(f"count('page.viewed', '{window}')", state, now)
        edge = now - window_ms
        exact = sum(1 for ts in delivered if edge < ts <= now)
        by_bucket = sum(1 for ts in delivered if edge < ts - ts % BUCKET_MS <= now)
        edge_hour = sum(1 for ts in delivered if edge < ts < edge - edge % BUCKET_MS + BUCKET_MS)
        assert counted == by_bucket
        assert exact - edge_hour <= counted <= exact
        if aligned:
            assert counted == exact
