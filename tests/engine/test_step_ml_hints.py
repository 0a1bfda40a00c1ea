"""The two nodes that read the ML worker's hints (state["hints"]): a wait until the best send time, and
send_best, which picks the channel. Hints are put into the state the way the worker does, between steps."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.durations import WEEK, parse_duration
from engine.issues import ValidationIssue, format_issue
from engine.model import WaitNode
from engine.step import step
from engine.timecalc import zone
from engine.types import ContactState
from engine.validation import load_workflow, validate_text
from engine.workflows import WorkflowSet
from tests.engine.fixtures import DAY, HOUR, MINUTE, T0, Harness, make_event, workflow_text

# T0 is Thursday 2026-01-01 10:00 UTC (05:00 in New York). Hours of the week: 0 = Monday 00:00.
THU, FRI, MON = 3 * 24, 4 * 24, 0
NY = "America/New_York"


def best_time_body(options: str = "") -> str:
    return f"""  a: {{type: wait, until: best_send_time{options}, next: b}}
  b: {{type: action, action: send_sms, params: {{body: hi}}}}
"""


def harness_for(body: str, **top: object) -> Harness:
    return Harness(WorkflowSet([load_workflow(workflow_text(body, **top))]))


def give_hints(harness: Harness, **hints: Any) -> None:
    """What the ML worker does: put hints into the contact's state between two steps."""
    assert harness.state is not None
    harness.state = {**harness.state, "hints": hints}


def prepared(body: str, hints: dict[str, Any] | None, **attrs: Any) -> Harness:
    """A contact with ``attrs`` (at T0 - 1h) and ``hints``, clock at T0, nothing started yet."""
    harness = harness_for(body)
    harness.send("contact.added", at=T0 - HOUR, **attrs)
    if hints is not None:
        give_hints(harness, **hints)
    harness.now = T0
    return harness


def waited(harness: Harness) -> dict[str, Any]:
    return next(e for e in harness.trace if e["transition"] == "waited")


# -- wait until: best_send_time ---------------------------------------------------------------------


def test_the_best_hinted_hour_in_the_window_is_chosen_and_the_run_resumes_then() -> None:
    harness = prepared(best_time_body(), {"send_hours": [THU + 15]})
    harness.send("go")
    assert harness.requested() == [("a", "wait", 5 * HOUR)]
    assert waited(harness)["reason"] == "until best send time Thu 15:00 (rank 1)"
    harness.run_until(T0 + DAY)
    assert harness.sent() == [("b", "send_sms", 5 * HOUR)]


def test_rank_order_wins_over_the_earliest_hour() -> None:
    harness = prepared(best_time_body(), {"send_hours": [FRI + 9, THU + 14]})
    harness.send("go")
    assert harness.requested() == [("a", "wait", 23 * HOUR)]  # Fri 09:00, though Thu 14:00 comes first
    assert waited(harness)["reason"] == "until best send time Fri 09:00 (rank 1)"


def test_an_hour_outside_within_is_skipped_for_the_next_rank() -> None:
    harness = prepared(best_time_body(", within: 6h"), {"send_hours": [FRI + 9, MON + 8, THU + 14]})
    harness.send("go")
    assert harness.requested() == [("a", "wait", 4 * HOUR)]
    assert waited(harness)["reason"] == "until best send time Thu 14:00 (rank 3)"


def test_the_current_hour_is_not_strictly_after_now_so_it_comes_next_week() -> None:
    hints = {"send_hours": [THU + 10, THU + 11]}  # now is exactly Thu 10:00
    harness = prepared(best_time_body(", within: 7d"), hints)
    harness.send("go")
    assert harness.requested() == [("a", "wait", 7 * DAY)]  # rank 1 still fits in 7d
    short = prepared(best_time_body(), hints)
    short.send("go")
    assert short.requested() == [("a", "wait", HOUR)]


def test_no_hinted_hour_within_the_window_falls_back() -> None:
    harness = prepared(best_time_body(", within: 2h, fallback: '11:30'"), {"send_hours": [FRI + 9]})
    harness.send("go")
    assert harness.requested() == [("a", "wait", 90 * MINUTE)]
    assert waited(harness)["reason"] == "until fallback 11:30: no hinted hour within 2h"


@pytest.mark.parametrize(
    "hints",
    [None, {}, {"channel": "sms"}, {"send_hours": []}, {"send_hours": "9"}, {"send_hours": [168, -1, True]}],
    ids=["no hints key", "empty", "channel only", "no hours", "not a list", "no valid hour"],
)
def test_fallback_without_usable_hints_is_the_next_10_00_strictly_after_now(
    hints: dict[str, Any] | None,
) -> None:
    harness = prepared(best_time_body(), hints)
    harness.send("go")  # now is exactly 10:00: the fallback is tomorrow's
    assert harness.requested() == [("a", "wait", DAY)]
    assert waited(harness)["reason"] == "until fallback 10:00: no send-time hints"


def test_invalid_entries_keep_the_rank_of_their_list_position() -> None:
    harness = prepared(best_time_body(), {"send_hours": ["x", 500, THU + 12]})
    harness.send("go")
    assert waited(harness)["reason"] == "until best send time Thu 12:00 (rank 3)"


def test_hours_and_fallback_are_in_the_contacts_timezone() -> None:
    hinted = prepared(best_time_body(), {"send_hours": [THU + 9]}, timezone=NY)
    hinted.send("go")  # 05:00 in New York: Thu 09:00 there is 14:00 UTC
    assert hinted.requested() == [("a", "wait", 4 * HOUR)]
    fallback = prepared(best_time_body(), None, timezone=NY)
    fallback.send("go")
    assert fallback.requested() == [("a", "wait", 5 * HOUR)]  # 10:00 New York = 15:00 UTC


def test_a_hint_across_the_spring_forward_change_keeps_local_time() -> None:
    saturday_noon = int(datetime(2026, 3, 7, 12, tzinfo=zone(NY)).timestamp() * 1000)  # EST, UTC-5
    harness = prepared(best_time_body(), {"send_hours": [6 * 24 + 9]}, timezone=NY)
    harness.send("go", at=saturday_noon)
    due = harness.timers[0]["due"]
    assert due - saturday_noon == 20 * HOUR  # Sunday 09:00 EDT (UTC-4): 21h on the wall clock, 20h real
    assert datetime.fromtimestamp(due / 1000, zone(NY)).strftime("%a %H:%M") == "Sun 09:00"


WITHINS = ("1h", "6h", "24h", "3d", "7d")
ZONES = ("UTC", NY, "Asia/Kolkata", "Australia/Adelaide", "Pacific/Chatham")
FALLBACKS = ("00:00", "10:00", "23:45")
PROPERTY_SETS = {
    (within, fallback): harness_for(best_time_body(f", within: {within}, fallback: '{fallback}'")).workflows
    for within in WITHINS
    for fallback in FALLBACKS
}
ANY_HOUR = st.integers(min_value=0, max_value=167)


def _local_hour_starts(now: int, until: int, tz_name: str) -> dict[int, int]:
    """First start of each local hour of the week in (now, until], found by walking 15-minute marks
    (every zone offset is a multiple of 15 minutes); independent of engine.timecalc."""
    tz = zone(tz_name)
    first: dict[int, int] = {}
    mark = now - now % (15 * MINUTE) + 15 * MINUTE
    while mark <= until:
        local = datetime.fromtimestamp(mark / 1000, tz)
        if local.minute == 0:
            first.setdefault(local.weekday() * 24 + local.hour, mark)
        mark += 15 * MINUTE
    return first


def _next_fallback(now: int, minutes: int, tz_name: str) -> int:
    tz = zone(tz_name)
    today = datetime.fromtimestamp(now / 1000, tz).date()
    for ahead in range(3):
        day = today + timedelta(days=ahead)
        moment = datetime(day.year, day.month, day.day, minutes // 60, minutes % 60, tzinfo=tz)
        if moment.timestamp() * 1000 > now:
            return int(moment.timestamp() * 1000)
    raise AssertionError("no fallback within two days")


def _no_offset_change(now: int, until: int, tz_name: str) -> bool:
    tz = zone(tz_name)
    offsets = {datetime.fromtimestamp(ms / 1000, tz).utcoffset() for ms in range(now, until + 1, HOUR)}
    return len(offsets) == 1 and datetime.fromtimestamp(until / 1000, tz).utcoffset() in offsets


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    now=st.integers(min_value=T0, max_value=T0 + 400 * DAY),
    hours=st.one_of(st.none(), st.lists(ANY_HOUR, max_size=24)),
    within=st.sampled_from(WITHINS),
    fallback=st.sampled_from(FALLBACKS),
    tz_name=st.sampled_from(ZONES),
)
def test_a_best_time_wait_never_fires_early_and_is_deterministic(
    now: int, hours: list[int] | None, within: str, fallback: str, tz_name: str
) -> None:
    workflows = PROPERTY_SETS[(within, fallback)]
    added = make_event("contact.added", now - 1, timezone=tz_name)
    state: ContactState = step(None, added, workflows, now - 1).state
    if hours is not None:
        state = {**state, "hints": {"send_hours": hours}}
    first = step(state, make_event("go", now), workflows, now)
    again = step(state, make_event("go", now), workflows, now)
    assert first == again
    assert "hints" not in first.state or first.state["hints"] == state["hints"]  # read, never written
    (timer,) = first.timers
    due, window = timer["due"], parse_duration(within)
    reason = next(e for e in first.trace if e["transition"] == "waited")["reason"]
    assert due > now
    starts = _local_hour_starts(now, now + window, tz_name)
    ranked = hours or []
    qualifying = [h for h in ranked if h in starts]
    if reason.startswith("until best send time"):
        assert due <= now + window
        local = datetime.fromtimestamp(due / 1000, zone(tz_name))
        assert (local.minute, local.second) == (0, 0)
        if _no_offset_change(now, now + window, tz_name):
            assert qualifying and due == starts[qualifying[0]]
            assert reason.endswith(f"(rank {ranked.index(qualifying[0]) + 1})")
    else:
        assert reason.startswith(f"until fallback {fallback}")
        assert due == _next_fallback(now, int(fallback[:2]) * 60 + int(fallback[3:]), tz_name)
        if _no_offset_change(now, now + window, tz_name):
            assert not qualifying


# -- validation ---------------------------------------------------------------------------------------


def wait_lines(*fields: str) -> str:
    """A wait node ``a`` (one field per line, so each error has its own line) followed by an exit."""
    return (
        "  a:\n    type: wait\n" + "".join(f"    {f}\n" for f in fields) + "    next: b\n  b: {type: exit}\n"
    )


def send_best_lines(*params: str) -> str:
    """A send_best node ``a`` whose params are the given lines (indented under ``params:``)."""
    return "  a:\n    type: action\n    action: send_best\n    params:\n" + "".join(
        f"      {p}\n" for p in params
    )


INVALID = [
    # (name, nodes body, line needle, message part)
    ("unknown until", wait_lines("until: best_send_tme"), "until:", "unknown wait target 'best_send_tme'"),
    (
        "within too long",
        wait_lines("until: best_send_time", "within: 8d"),
        "within: 8d",
        "'within' must be more than 0 and at most 7d, got 1w1d",
    ),
    ("within zero", wait_lines("until: best_send_time", "within: 0s"), "within: 0s", "more than 0"),
    (
        "within not a duration",
        wait_lines("until: best_send_time", "within: soon"),
        "within:",
        "not a duration",
    ),
    (
        "bad fallback",
        wait_lines("until: best_send_time", "fallback: '25:00'"),
        "fallback:",
        "not a time of day",
    ),
    (
        "within without best_send_time",
        wait_lines("duration: 1h", "within: 1d"),
        "within: 1d",
        "'within' only goes with 'until: best_send_time'",
    ),
    (
        "two modes",
        wait_lines("until: best_send_time", "duration: 1h"),
        "type: wait",  # the node's mapping, as for the other wait modes
        "exactly one of duration, until_time/days, until_date or until (found duration, until)",
    ),
    (
        "until with days",
        wait_lines("until: best_send_time", "days: [mon]"),
        "type: wait",
        "(found until, days)",
    ),
    (
        "send_best unknown channel",
        send_best_lines("messages:", "  email: {template: x}", "  fax: {body: x}"),
        "fax:",
        "send_best cannot send on 'fax'",
    ),
    (
        "send_best message without its required param",
        send_best_lines("messages:", "  sms: {to: '+1'}"),
        "sms:",
        "the sms message needs 'body' or 'template' (as send_sms does)",
    ),
    (
        "send_best messages not a mapping",
        send_best_lines("messages: []"),
        "messages:",
        "'messages' must be a non-empty mapping",
    ),
    (
        "send_best params outside messages",
        send_best_lines("template: x", "messages: {email: {template: x}}"),
        "template: x",
        "unknown param 'template' in send_best",
    ),
    (
        "send_best without messages",
        "  a: {type: action, action: send_best, params: {}}\n",
        "params:",
        "send_best needs 'messages' in params",
    ),
]


def only_error(text: str) -> ValidationIssue:
    issues = [i for i in validate_text(text, "wf.yaml") if i.severity == "error"]
    assert len(issues) == 1, [format_issue(i) for i in issues]
    return issues[0]


@pytest.mark.parametrize(("name", "body", "needle", "message"), INVALID, ids=[case[0] for case in INVALID])
def test_invalid_best_time_and_send_best_nodes_name_node_and_line(
    name: str, body: str, needle: str, message: str
) -> None:
    text = workflow_text(body)
    issue = only_error(text)
    assert issue.node_id == "a"
    assert issue.line == next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)
    assert message in issue.message, format_issue(issue)
    assert format_issue(issue).startswith(f"wf.yaml:{issue.line}:")


def test_best_time_defaults_and_limits_compile() -> None:
    node = load_workflow(workflow_text(best_time_body())).nodes["a"]
    assert isinstance(node, WaitNode)
    assert (node.until, node.within_ms, node.fallback_time) == ("best_send_time", DAY, 600)
    widest = load_workflow(workflow_text(best_time_body(", within: 7d, fallback: '06:15'"))).nodes["a"]
    assert isinstance(widest, WaitNode) and (widest.within_ms, widest.fallback_time) == (WEEK, 375)


# -- send_best ---------------------------------------------------------------------------------------

SEND_BEST = """  a:
    type: action
    action: send_best
    params:
      messages:
        push: {title: "Hi {{ contact.first_name }}", body: tap}
        email: {template: tips, subject: "Tips for {{ contact.first_name }}"}
        sms: {body: "Hi {{ contact.first_name }}"}
"""
REACHABLE_EVERYWHERE = {
    "first_name": "Ada",
    "email": "ada@example.com",
    "phone": "+15550100",
    "push_token": "tok",
}


def sent_once(
    hints: dict[str, Any] | None, body: str = SEND_BEST, **attrs: Any
) -> tuple[dict[str, Any], str]:
    """The one action send_best emitted for a contact with ``attrs`` and ``hints``, and its trace reason."""
    harness = prepared(body, hints, **attrs)
    harness.send("go")
    (action,) = harness.actions
    acted = next(e for e in harness.trace if e["transition"] == "acted")
    assert acted["action"] == action["type"] and acted["action_id"] == action["action_id"]
    assert acted["chosen_by"] == action["params"]["chosen_by"]
    return action, acted["reason"]


def test_send_best_sends_on_the_hinted_channel() -> None:
    action, reason = sent_once({"channel": "sms"}, **REACHABLE_EVERYWHERE)
    assert (action["channel"], action["type"]) == ("sms", "send_sms")
    assert action["params"] == {"body": "Hi Ada", "to": "+15550100", "chosen_by": "bandit"}
    assert reason == "send_best: sms, the bandit's pick"


def test_send_best_emits_what_the_plain_send_node_would_plus_chosen_by() -> None:
    best, _ = sent_once({"channel": "email"}, **REACHABLE_EVERYWHERE)
    plain_body = """  a:
    type: action
    action: send_email
    params: {template: tips, subject: "Tips for {{ contact.first_name }}"}
"""
    plain = prepared(plain_body, None, **REACHABLE_EVERYWHERE)
    plain.send("go")
    (expected,) = plain.actions
    assert {**best, "params": {k: v for k, v in best["params"].items() if k != "chosen_by"}} == expected
    assert best["params"]["chosen_by"] == "bandit"


@pytest.mark.parametrize(
    ("hints", "attrs", "channel", "why"),
    [
        (
            {"channel": "push"},
            {"phone": "+1"},
            "sms",
            "the bandit's push is unreachable: no contact.push_token",
        ),
        (None, {"email": "a@b.c", "phone": "+1"}, "email", "no channel hint"),
        ({"send_hours": [1]}, {"push_token": "t", "phone": "+1"}, "push", "no channel hint"),
        (
            {"channel": "webhook"},
            {"phone": "+1"},
            "sms",
            "the bandit's webhook is not one of the node's channels",
        ),
        ({"channel": 7}, {"phone": "+1"}, "sms", "no channel hint"),
    ],
    ids=["hinted unreachable", "no hints", "no channel hint", "hint not listed", "malformed hint"],
)
def test_send_best_falls_back_to_the_first_listed_reachable_channel(
    hints: dict[str, Any] | None, attrs: dict[str, str], channel: str, why: str
) -> None:
    action, reason = sent_once(hints, **attrs)
    assert action["channel"] == channel and action["params"]["chosen_by"] == "fallback"
    assert reason == f"send_best: {channel}, fallback ({why})"


def test_send_best_with_no_reachable_channel_uses_the_first_listed_and_leaves_to_to_the_sink() -> None:
    action, reason = sent_once({"channel": "email"}, first_name="Ada")
    assert (action["channel"], action["type"]) == ("push", "send_push")
    assert "to" not in action["params"] and action["params"]["chosen_by"] == "fallback"
    assert reason.endswith("no listed channel is reachable)")


def test_a_message_with_its_own_to_is_reachable() -> None:
    body = """  a:
    type: action
    action: send_best
    params:
      messages:
        email: {template: tips}
        sms: {body: hi, to: "+15550199"}
"""
    action, _ = sent_once({"channel": "sms"}, body)
    assert action["params"] == {"body": "hi", "to": "+15550199", "chosen_by": "bandit"}


def test_send_best_action_id_is_the_same_on_a_replay_even_if_the_hint_changed() -> None:
    first, _ = sent_once({"channel": "email"}, **REACHABLE_EVERYWHERE)
    same, _ = sent_once({"channel": "email"}, **REACHABLE_EVERYWHERE)
    changed, _ = sent_once({"channel": "push"}, **REACHABLE_EVERYWHERE)
    assert first == same
    assert changed["action_id"] == first["action_id"] and changed["channel"] == "push" != first["channel"]


def test_quiet_hours_follow_the_chosen_channel() -> None:
    quiet = "{quiet_hours: {start: '09:00', end: '11:00', channels: [sms]}}"  # T0 is 10:00 UTC
    harness = harness_for(SEND_BEST, settings=quiet)
    harness.send("contact.added", at=T0 - HOUR, **REACHABLE_EVERYWHERE)
    give_hints(harness, channel="sms")
    harness.send("go", at=T0)
    assert harness.actions == [] and harness.requested() == [("a", "quiet", HOUR)]
    parked = next(e for e in harness.trace if e["transition"] == "waited")
    assert parked["reason"] == "send_best: sms, the bandit's pick; quiet hours: delayed until they end"
    give_hints(harness, channel="email")  # the hint changed while the run was parked
    harness.run_until(T0 + HOUR)
    assert [(a["channel"], a["ts"] - T0) for a in harness.actions] == [("email", HOUR)]


def test_the_engine_never_writes_hints() -> None:
    harness = prepared(best_time_body(), None)
    harness.send("go")
    harness.run_until(T0 + 2 * DAY)
    assert harness.state is not None and "hints" not in harness.state
