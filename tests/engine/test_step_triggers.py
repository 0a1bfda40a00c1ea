"""Every trigger kind: event (webhook), schedule (cron and one-off), contact date, inactivity,
condition (edge) and predictive score (upward crossing)."""

from __future__ import annotations

from engine.timecalc import UTC, parse_date_value, zone
from engine.validation import load_workflow
from engine.workflows import WorkflowSet
from tests.engine.fixtures import DAY, HOUR, T0, Harness, workflow_text

SEND = "  a: {type: action, action: send_email, params: {template: x}}\n"


def harness_for(trigger: str, body: str = SEND, **top: object) -> Harness:
    return Harness(WorkflowSet([load_workflow(workflow_text(body, trigger=trigger, **top))]))


def test_webhook_event_with_filter_on_source() -> None:
    harness = harness_for("{event: webhook.received, filter: \"event.source == 'stripe'\"}")
    harness.send("webhook.received", source="github")
    assert harness.actions == []
    harness.send("webhook.received", source="stripe")
    assert harness.sent() == [("a", "send_email", 0)]
    assert harness.actions[0]["run_id"] != ""


def test_schedule_cron_per_contact_in_contact_timezone_with_filter() -> None:
    harness = harness_for(
        "{schedule: '0 9 * * mon', timezone: contact, filter: \"contact.plan == 'pro'\"}",
        settings="{reentry: always}",
    )
    harness.send("contact.added", timezone="Europe/Paris", plan="pro")
    monday_9_paris = parse_date_value("2026-01-05T09:00:00", zone("Europe/Paris"))
    assert monday_9_paris is not None
    assert harness.requested() == [(None, "schedule", monday_9_paris - T0)]
    harness.run_until(monday_9_paris)
    assert harness.sent() == [("a", "send_email", monday_9_paris - T0)]
    assert harness.requested()[-1] == (None, "schedule", monday_9_paris - T0 + 7 * DAY)
    harness.send("contact.updated", at=monday_9_paris + DAY, plan="free")
    harness.run_until(monday_9_paris + 7 * DAY)
    assert len(harness.actions) == 1  # filtered out the second week
    assert harness.requested()[-1][2] == monday_9_paris - T0 + 14 * DAY


def test_one_off_schedule_fires_once_and_past_times_are_not_armed() -> None:
    future = harness_for("{at: '2026-01-02T00:00:00Z'}")
    future.send("contact.added")
    future.run_until(T0 + 5 * DAY)
    assert future.sent() == [("a", "send_email", 14 * HOUR)]
    future.send("contact.updated", x=1)
    assert len(future.timers) == 1
    past = harness_for("{at: '2025-01-01T00:00:00Z'}")
    past.send("contact.added")
    assert past.timers == []


def test_contact_date_trigger_rearms_on_change() -> None:
    harness = harness_for("{date: contact.renewal_date, before: 1d}", settings="{reentry: always}")
    harness.send("contact.added", renewal_date="2026-01-10T12:00:00Z")
    harness.send("contact.updated", at=T0 + HOUR, renewal_date="2026-01-20T12:00:00Z")
    harness.send("contact.updated", at=T0 + 2 * HOUR, name="same date, no re-arm")
    jan19 = parse_date_value("2026-01-19T12:00:00Z", UTC)
    assert jan19 is not None
    assert [t[2] for t in harness.requested()] == [8 * DAY + 2 * HOUR, jan19 - T0]
    harness.run_until(T0 + 30 * DAY)
    assert harness.sent() == [("a", "send_email", jan19 - T0)]


def test_condition_trigger_is_edge_triggered() -> None:
    harness = harness_for('{condition: "contact.score >= 80"}', settings="{reentry: always}")
    harness.send("contact.added", score=90)  # unknown -> true on first sight
    harness.send("contact.updated", score=95)  # still true: no new run
    harness.send("contact.updated", score=10)
    harness.send("contact.updated", score=85)  # false -> true again
    assert len(harness.actions) == 2


def test_condition_trigger_sees_internal_actions() -> None:
    main = workflow_text(
        "  a: {type: action, action: update_score, params: {name: engagement, delta: 50}}\n",
        trigger="{event: go}",
        settings="{reentry: always}",
    )
    hot = workflow_text(SEND, id="hot", trigger='{condition: "contact.scores.engagement >= 80"}')
    harness = Harness(WorkflowSet([load_workflow(main), load_workflow(hot)]))
    harness.send("go")
    assert harness.actions == []
    harness.send("go")
    assert [a["workflow_id"] for a in harness.actions] == ["hot"]


def test_score_trigger_fires_on_upward_crossing_only() -> None:
    harness = harness_for("{score: churn_risk, above: 0.7}", settings="{reentry: always}")
    for score in (0.5, 0.75, 0.8, 0.6, 0.71):
        harness.send("predicted.churn_risk", score=score)
    assert len(harness.actions) == 2
    assert harness.state["profile"]["scores"]["churn_risk"] == 0.71  # type: ignore[index]


def test_inactivity_first_sight_and_single_fire() -> None:
    harness = harness_for("{inactivity: 10d, events: [email.opened]}", settings="{reentry: always}")
    harness.send("contact.added")
    harness.run_until(T0 + 25 * DAY)
    assert harness.sent() == [("a", "send_email", 10 * DAY)]  # fires once per quiet spell
    harness.send("email.opened")
    harness.run_until(T0 + 40 * DAY)
    assert harness.sent()[-1] == ("a", "send_email", 35 * DAY)


def test_no_match_event_is_the_fast_path() -> None:
    harness = harness_for("{event: go}")
    harness.send("contact.added")
    result = harness.send("page.viewed", page="home")
    assert result.actions == [] and result.timers == [] and result.trace == []
    assert result.state["profile"]["counts"]["page.viewed"] == 1
