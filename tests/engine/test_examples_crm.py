"""The CRM seed's workflows: drip, task automation, stale-lead alert, deadline reminder (all paths)."""

from __future__ import annotations

from typing import Any

from engine import ids
from engine.durations import MINUTE
from tests.engine.fixtures import DAY, HOUR, T0, Harness, example_set

MONDAY_9 = 3 * DAY + 23 * HOUR  # T0 is Thursday 10:00 UTC; the next Monday 09:00 UTC
THURSDAY_9 = 6 * DAY + 23 * HOUR


def contact_in_arm(arm: str) -> str:
    """A contact id whose stable hash puts it in ``arm`` of the drip split (45/45/10)."""
    for n in range(1000):
        point = ids.bucket(f"c{n}", "drip_campaign", 1, "subject_test") / 100
        found = "a" if point < 45 else "b" if point < 90 else "holdout"
        if found == arm:
            return f"c{n}"
    raise AssertionError(arm)


def drip(arm: str) -> Harness:
    harness = Harness(example_set("drip_campaign"), contact_id=contact_in_arm(arm))
    harness.send("contact.added", first_name="Ada")
    harness.send("list.joined", list="drip")
    return harness


def test_drip_arm_a_three_emails_at_weekday_mornings() -> None:
    harness = drip("a")
    harness.run_until(T0 + 20 * DAY)
    assert harness.sent() == [
        ("email_1a", "send_email", 0),
        ("email_2", "send_email", MONDAY_9),
        ("email_3", "send_email", THURSDAY_9),
    ]
    assert harness.requested() == [
        ("wait_2d", "wait", 2 * DAY),
        ("morning_1", "wait", MONDAY_9),
        ("wait_3d", "wait", MONDAY_9 + 3 * DAY),
    ]
    split = [e for e in harness.trace if e["transition"] == "split"]
    assert split[0]["arm"] == "a"
    assert harness.transitions()[-1] == ("done", "exited")


def test_drip_arm_b_personal_subject_and_reply_exits() -> None:
    harness = drip("b")
    assert harness.actions[0]["node_id"] == "email_1b"
    assert harness.actions[0]["params"]["subject"] == "Ada, your first week"
    harness.send("email.replied", at=T0 + DAY)
    harness.run_until(T0 + 20 * DAY)
    assert len(harness.actions) == 1
    assert any(e["reason"] == "exit criterion: email.replied" for e in harness.trace)


def test_drip_holdout_gets_nothing_and_is_recorded() -> None:
    harness = drip("holdout")
    assert harness.actions == [] and harness.live_runs() == {}
    assert [e.get("arm") for e in harness.trace if e["transition"] == "split"] == ["holdout"]


def test_drip_contact_timezone_moves_the_morning() -> None:
    harness = Harness(example_set("drip_campaign"), contact_id=contact_in_arm("a"))
    harness.send("contact.added", timezone="Asia/Tokyo")  # UTC+9: 09:00 local is 00:00 UTC
    harness.send("list.joined", list="drip")
    harness.run_until(T0 + 5 * DAY)
    assert harness.sent()[1] == ("email_2", "send_email", MONDAY_9 - 9 * HOUR)


def demo(region: str) -> Harness:
    harness = Harness(example_set("task_automation"))
    harness.send("contact.added", email="ada@example.com")
    harness.send("form.submitted", form="demo_request", region=region)
    return harness


def test_task_automation_emea_round_robin_and_completed() -> None:
    harness = demo("emea")
    assert harness.sent() == [
        ("task_emea", "create_task", 0),
        ("crm_stage", "crm_update", 0),
        ("notify_assignment", "notify", 0),
    ]
    task, crm, notify = harness.actions
    assert task["params"] == {
        "title": "Demo call with ada@example.com",
        "team": "sales_emea",
        "assignment": "round_robin",
        "due": "1d",
        "priority": "high",
        "due_at": T0 + DAY,
    }
    assert crm["params"]["fields"] == {"lifecycle_stage": "demo_requested"}
    assert notify["params"]["team"] == "sales_emea" and notify["params"]["reason"] == "assignment"
    harness.send("task.completed", at=T0 + HOUR)
    harness.run_until(T0 + 3 * DAY)
    assert len(harness.actions) == 3 and harness.live_runs() == {}


def test_task_automation_default_team_and_overdue() -> None:
    harness = demo("us")
    assert harness.actions[0]["params"]["team"] == "sales"
    harness.run_until(T0 + 3 * DAY)
    assert harness.sent()[-1] == ("overdue", "notify", DAY)
    assert harness.actions[-1]["params"]["reason"] == "deadline"


def stale(**attrs: Any) -> Harness:
    harness = Harness(example_set("stale_lead_alert"))
    harness.send("contact.added", email="ada@example.com", **attrs)
    return harness


def test_stale_lead_alerts_owner_after_14_quiet_days() -> None:
    harness = stale(lifecycle="lead", owner="u7")
    harness.send("page.viewed", at=T0 + 5 * DAY, page="docs")
    harness.run_until(T0 + 30 * DAY)
    assert harness.sent() == [("notify_owner", "notify", 19 * DAY)]
    assert harness.actions[0]["params"]["user"] == "u7"
    assert harness.state["profile"]["scores"]["engagement"] == -10.0  # type: ignore[index]


def test_stale_lead_without_owner_alerts_team_and_customers_are_filtered() -> None:
    harness = stale(lifecycle="lead")
    harness.run_until(T0 + 15 * DAY)
    assert harness.sent() == [("notify_team", "notify", 14 * DAY)]
    customer = stale(lifecycle="customer")
    customer.run_until(T0 + 15 * DAY)
    assert customer.actions == []
    assert any("filter is false" in e["reason"] for e in customer.trace)


def test_deadline_reminder_24h_before_due() -> None:
    harness = Harness(example_set("deadline_reminder"))
    harness.send("task.created", task_id="t1", due_at=T0 + 3 * DAY, assignee="u1", title="Call Ada")
    assert harness.requested() == [(None, "date", 2 * DAY)]
    harness.run_until(T0 + 5 * DAY)
    assert harness.sent() == [("remind", "notify", 2 * DAY)]
    assert harness.actions[0]["params"] == {
        "user": "u1",
        "reason": "deadline",
        "task_id": "t1",
        "message": "Task 'Call Ada' is due in 24 hours",
    }


def test_deadline_reminder_moves_when_the_task_changes_and_cancels_on_completion() -> None:
    harness = Harness(example_set("deadline_reminder"))
    harness.send("task.created", task_id="t1", due_at="2026-01-04T10:00:00Z", assignee="u1", title="A")
    harness.send("task.created", task_id="t2", due_at=T0 + 2 * DAY, assignee="u2", title="B")
    harness.send("task.updated", at=T0 + HOUR, task_id="t1", due_at=T0 + 6 * DAY, assignee="u1", title="A")
    harness.send("task.completed", at=T0 + 2 * HOUR, task_id="t2")
    harness.send("task.created", at=T0 + 3 * HOUR, task_id="t3", due_at=T0 + 10 * HOUR + MINUTE)
    harness.run_until(T0 + 10 * DAY)
    assert harness.sent() == [("remind", "notify", 5 * DAY)]
    assert harness.actions[0]["params"]["task_id"] == "t1"
    assert any(e["transition"] == "disarmed" for e in harness.trace)
    assert any(e["transition"] == "skipped" and "already past" in e["reason"] for e in harness.trace)
