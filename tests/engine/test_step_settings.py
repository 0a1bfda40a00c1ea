"""Workflow settings and lifecycle: re-entry, exit criteria, quiet hours, frequency caps, loop limits,
status (draft/paused/archived), version pinning and migration."""

from __future__ import annotations

import pytest

from engine.exceptions import MigrationError
from engine.migrate import check_mapping, migrate
from engine.validation import load_workflow
from engine.workflows import WorkflowSet
from tests.engine.fixtures import DAY, HOUR, T0, Harness, workflow_text

WAIT_SEND = """  a: {type: wait, duration: 1h, next: b}
  b: {type: action, action: send_email, params: {template: x}}
"""


def harness_for(body: str = WAIT_SEND, **top: object) -> Harness:
    return Harness(WorkflowSet([load_workflow(workflow_text(body, **top))]))


def entries(harness: Harness) -> int:
    return sum(1 for e in harness.trace if e["transition"] == "entered")


@pytest.mark.parametrize(("rule", "expected"), [("never", 1), ("always", 3), ("after 2d", 2)])
def test_reentry(rule: str, expected: int) -> None:
    harness = harness_for(settings=f"{{reentry: '{rule}'}}")
    harness.send("go")
    harness.send("go", at=T0 + 30 * 60_000)  # while live: never a second live run
    harness.send("go", at=T0 + DAY)
    harness.send("go", at=T0 + 3 * DAY)
    assert entries(harness) == expected


def test_exit_when_event_and_condition() -> None:
    by_event = harness_for(settings="{exit_when: [{event: unsubscribed}]}")
    by_event.send("go")
    by_event.send("unsubscribed", at=T0 + 60_000)
    by_event.run_until(T0 + DAY)
    assert by_event.actions == [] and "exit criterion" in by_event.trace[2]["reason"]
    by_condition = harness_for(settings="{exit_when: [{condition: \"contact.status == 'gone'\"}]}")
    by_condition.send("go")
    by_condition.send("contact.updated", at=T0 + 60_000, status="gone")
    by_condition.run_until(T0 + DAY)
    assert by_condition.actions == []


def test_quiet_hours_skip() -> None:
    harness = harness_for(
        "  a: {type: action, action: send_sms, params: {body: x}, next: b}\n"
        "  b: {type: action, action: webhook, params: {url: 'https://h.example'}}\n",
        settings="{quiet_hours: {start: '09:00', end: '17:00', fallback: skip}}",
    )
    harness.send("go")  # 10:00 UTC: quiet
    assert harness.sent() == [("b", "webhook", 0)]
    assert harness.trace[1]["transition"] == "skipped" and harness.trace[1]["reason"] == "quiet hours"


def test_frequency_cap_across_workflows() -> None:
    cap = "{reentry: always, frequency_caps: {email: {max: 2, per: 7d}}}"
    one = workflow_text("  a: {type: action, action: send_email, params: {template: x}}\n", settings=cap)
    two = workflow_text(
        "  a: {type: action, action: send_email, params: {template: y}, next: b}\n"
        "  b: {type: action, action: send_sms, params: {body: y}}\n",
        id="two",
        trigger="{event: go2}",
        settings=cap,
    )
    harness = Harness(WorkflowSet([load_workflow(one), load_workflow(two)]))
    harness.send("go")
    harness.send("go2", at=T0 + DAY)
    harness.send("go", at=T0 + 2 * DAY)  # third email in 7 days: capped
    harness.send("go2", at=T0 + 3 * DAY)  # capped email, the sms still goes
    harness.send("go", at=T0 + 8 * DAY)  # the first email left the window
    assert [(a["workflow_id"], a["type"], a["ts"] - T0) for a in harness.actions] == [
        ("t", "send_email", 0),
        ("two", "send_email", DAY),
        ("two", "send_sms", DAY),
        ("two", "send_sms", 3 * DAY),
        ("t", "send_email", 8 * DAY),
    ]
    assert sum(1 for e in harness.trace if e["transition"] == "capped") == 2


def test_step_limit_ends_a_looping_run() -> None:
    body = """  a: {type: action, action: add_tag, params: {tag: x}, next: w}
  w: {type: wait, duration: 0s, next: a}
"""
    harness = harness_for(body, settings="{max_steps: 40}")
    harness.send("go")
    assert harness.live_runs() == {}
    last = harness.trace[-1]
    assert last["reason"] == "step_limit" and last["steps"] == 40


def test_a_looping_run_stops_at_the_lower_default_step_limit() -> None:
    body = """  a: {type: action, action: webhook, params: {url: 'http://127.0.0.1:9/x'}, next: w}
  w: {type: wait, duration: 0s, next: a}
"""
    harness = harness_for(body)
    harness.send("go")
    assert harness.trace[-1]["reason"] == "step_limit" and harness.trace[-1]["steps"] == 100
    assert len(harness.actions) == 50


def test_action_limit_per_event() -> None:
    body = (
        "".join(
            f"  n{i}: {{type: action, action: send_sms, params: {{body: x}}, next: n{i + 1}}}\n"
            for i in range(9)
        )
        + "  n9: {type: exit}\n"
    )
    harness = harness_for(body, start="n0", settings="{max_actions_per_event: 5}")
    harness.send("go")
    assert len(harness.actions) == 5
    assert harness.trace[-1]["reason"] == "action_limit"


def versions(status_v2: str, extra: str = "") -> list[object]:
    v1 = load_workflow(workflow_text(WAIT_SEND))
    v2 = load_workflow(
        workflow_text(WAIT_SEND.replace("template: x", "template: v2") + extra, version=2, status=status_v2)
    )
    return [v1, v2]


def test_runs_are_pinned_to_their_version_and_new_runs_use_the_new_one() -> None:
    v1_only = WorkflowSet(versions("published")[:1])  # type: ignore[arg-type]
    harness = Harness(v1_only, contact_id="old")
    harness.send("go")
    harness.workflows = WorkflowSet(versions("published"))  # type: ignore[arg-type]
    harness.run_until(T0 + DAY)
    assert harness.actions[0]["params"]["template"] == "x" and harness.actions[0]["version"] == 1
    fresh = Harness(harness.workflows, contact_id="new")
    fresh.send("go")
    fresh.run_until(T0 + DAY)
    assert fresh.actions[0]["version"] == 2


def test_draft_head_keeps_published_version_paused_blocks_entries_archived_ends_runs() -> None:
    draft = Harness(WorkflowSet(versions("draft")))  # type: ignore[arg-type]
    draft.send("go")
    assert draft.live_runs()["t"]["version"] == 1
    paused = Harness(WorkflowSet(versions("published")[:1]))  # type: ignore[arg-type]
    paused.send("go")
    paused.workflows = WorkflowSet(versions("paused"))  # type: ignore[arg-type]
    paused.send("go", at=T0 + 60_000, contact="second event: no new entry while paused")
    paused.run_until(T0 + DAY)
    assert len(paused.actions) == 1 and entries(paused) == 1  # in-flight run continued
    archived = Harness(WorkflowSet(versions("published")[:1]))  # type: ignore[arg-type]
    archived.send("go")
    archived.workflows = WorkflowSet(versions("archived"))  # type: ignore[arg-type]
    archived.run_until(T0 + DAY)
    assert archived.actions == [] and archived.trace[-1]["reason"] == "archived"


def test_migrate_moves_a_waiting_run_and_its_timer_still_wakes_it() -> None:
    v1 = load_workflow(workflow_text(WAIT_SEND))
    v2 = load_workflow(
        workflow_text(
            """  pause: {type: wait, duration: 2h, next: send}
  send: {type: action, action: send_sms, params: {body: v2}}
""",
            version=2,
            start="pause",
        )
    )
    harness = Harness(WorkflowSet([v1]))
    harness.send("go")
    workflows = harness.workflows = WorkflowSet([v1, v2])
    assert check_mapping(v1, v2, {"a": "send"}) != []
    with pytest.raises(MigrationError):
        migrate(harness.state or {}, workflows, "t", 2, {"a": "send"}, T0)
    moved = migrate(harness.state or {}, workflows, "t", 2, {"a": "pause", "b": "send"}, T0)
    assert moved.trace[0]["transition"] == "migrated"
    assert moved.state["runs"]["t"]["version"] == 2 and moved.state["runs"]["t"]["node"] == "pause"
    harness.state = moved.state
    harness.run_until(T0 + DAY)
    assert harness.sent() == [("send", "send_sms", HOUR)]  # the v1 timer (1h) woke the v2 run
