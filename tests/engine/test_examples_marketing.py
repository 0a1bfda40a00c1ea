"""The marketing seed's workflows, each driven through all of its paths with exact actions and timers."""

from __future__ import annotations

from typing import Any

from engine.timecalc import parse_date_value, zone
from tests.engine.fixtures import DAY, HOUR, T0, Harness, example_set


def test_lead_nurturing_opened_and_clicked() -> None:
    harness = Harness(example_set("lead_nurturing"))
    harness.send("list.joined", list="leads")
    harness.send("email.opened", at=T0 + DAY + 2 * HOUR, template="nurture_welcome")
    assert "engaged" in harness.state["profile"]["tags"]  # type: ignore[index]
    harness.send("email.clicked", at=T0 + 5 * DAY, template="nurture_value")
    assert harness.sent() == [
        ("welcome", "send_email", DAY),
        ("value_content", "send_email", 4 * DAY + 2 * HOUR),
        ("notify_sales", "notify", 5 * DAY),
    ]
    assert harness.requested() == [
        ("wait_1d", "wait", DAY),
        ("welcome_opened", "timeout", 4 * DAY),
        ("wait_3d", "wait", 4 * DAY + 2 * HOUR),
        ("value_clicked", "timeout", 11 * DAY + 2 * HOUR),
    ]
    assert harness.transitions()[-1] == ("done", "exited")


def test_lead_nurturing_not_opened_not_clicked() -> None:
    harness = Harness(example_set("lead_nurturing"))
    harness.send("list.joined", list="leads")
    harness.send("email.opened", at=T0 + 2 * DAY, template="something_else")  # filter: not the welcome email
    harness.run_until(T0 + 30 * DAY)
    assert harness.sent() == [("welcome", "send_email", DAY), ("value_content", "send_email", 4 * DAY)]
    assert "engaged" not in harness.state["profile"]["tags"]  # type: ignore[index]
    assert harness.live_runs() == {}


def test_lead_nurturing_other_list_does_not_start() -> None:
    harness = Harness(example_set("lead_nurturing"))
    result = harness.send("list.joined", list="newsletter")
    assert result.trace == [] and result.timers == []


def reengagement() -> Harness:
    harness = Harness(example_set("re_engagement", "lead_nurturing"))
    harness.send("contact.added", email="ada@example.com", first_name="Ada")
    harness.send("page.viewed", at=T0 + 5 * DAY, page="home")  # re-arms: quiet since day 5
    return harness


def test_re_engagement_fires_only_after_30_quiet_days_then_escalates_to_a_task() -> None:
    harness = reengagement()
    harness.run_until(T0 + 60 * DAY)
    assert [(t["kind"], t["due"] - T0) for t in harness.timers if t["kind"] == "inactivity"] == [
        ("inactivity", 30 * DAY),
        ("inactivity", 35 * DAY),
    ]
    assert harness.sent() == [
        ("reengage_email", "send_email", 35 * DAY),
        ("second_subject", "send_email", 42 * DAY),
        ("sales_task", "create_task", 49 * DAY),
    ]
    subjects = [a["params"]["subject"] for a in harness.actions[:2]]
    assert subjects == ["We miss you, Ada", "Is this goodbye?"]
    assert harness.actions[2]["params"]["team"] == "sales"
    moved = [
        e for e in harness.trace if e["transition"] == "armed" and e["reason"] == "activity since: moved"
    ]
    assert [(e["ts"] - T0, e["due"] - T0) for e in moved] == [(30 * DAY, 35 * DAY)]  # the day-5 view counted


def test_re_engagement_opened_goes_back_to_nurture() -> None:
    harness = reengagement()
    harness.run_until(T0 + 36 * DAY)
    harness.send("email.opened", template="reengage")
    assert "active-nurture" in harness.state["profile"]["tags"]  # type: ignore[index]
    assert set(harness.live_runs()) == {"lead_nurturing"}
    harness.run_until(T0 + 37 * DAY + HOUR)
    assert harness.sent()[-1] == ("welcome", "send_email", 37 * DAY)


def pricing(timezone: str | None = None, at: int = T0) -> Harness:
    harness = Harness(example_set("pricing_page_follow_up"))
    attrs: dict[str, Any] = {"email": "ada@example.com"}
    if timezone:
        attrs["timezone"] = timezone
    harness.send("contact.added", **attrs)
    harness.send("link.clicked", at=at, url="https://example.com/pricing?plan=team")
    return harness


def test_pricing_page_no_reply_gets_special_offer() -> None:
    harness = pricing()
    harness.run_until(T0 + 5 * DAY)
    assert harness.sent() == [
        ("notify_sales", "notify", 0),
        ("case_study", "send_email", 0),
        ("special_offer", "send_email", 2 * DAY),
    ]
    assert "high-intent" in harness.state["profile"]["tags"]  # type: ignore[index]
    assert harness.requested() == [("wait_reply", "timeout", 2 * DAY)]


def test_pricing_page_reply_ends_without_offer() -> None:
    harness = pricing()
    harness.send("email.replied", at=T0 + DAY)
    harness.run_until(T0 + 5 * DAY)
    assert [a["node_id"] for a in harness.actions] == ["notify_sales", "case_study"]
    assert harness.transitions()[-2:] == [("replied", "exited"), (None, "ignored")]  # then the stale timeout


def test_pricing_page_also_starts_from_page_view_and_not_from_other_links() -> None:
    harness = Harness(example_set("pricing_page_follow_up"))
    assert harness.send("link.clicked", url="https://example.com/blog").trace == []
    assert harness.send("page.viewed", page="pricing").actions != []


def test_pricing_page_quiet_hours_delay_email_to_local_morning() -> None:
    harness = pricing(timezone="America/New_York")  # 10:00 UTC is 05:00 in New York: quiet
    eight_local = parse_date_value("2026-01-01T08:00:00", zone("America/New_York"))
    assert eight_local is not None
    assert harness.sent() == [("notify_sales", "notify", 0)]  # notifications are not contact channels
    assert harness.requested() == [("case_study", "quiet", eight_local - T0)]
    harness.run_until(eight_local)
    assert harness.sent()[-1] == ("case_study", "send_email", eight_local - T0)


def test_welcome_series_used_and_not_used() -> None:
    used = Harness(example_set("welcome_series"))
    used.send("contact.added", source="signup")
    used.send("product.used", at=T0 + DAY)
    assert used.sent() == [("welcome", "send_email", 0), ("advanced_tips", "send_email", DAY)]
    unused = Harness(example_set("welcome_series"))
    unused.send("contact.added", source="signup")
    unused.run_until(T0 + 10 * DAY)
    assert unused.sent() == [("welcome", "send_email", 0), ("support_offer", "send_email", 3 * DAY)]
    assert unused.requested() == [("wait_usage", "timeout", 3 * DAY)]
    imported = Harness(example_set("welcome_series"))
    assert imported.send("contact.added", source="import").actions == []


def post_purchase(rating: int | None) -> Harness:
    harness = Harness(example_set("post_purchase"))
    harness.send("purchase", order_id="o1", amount=50)
    if rating is not None:
        harness.send("review.submitted", at=T0 + 38 * DAY, rating=rating)
    harness.run_until(T0 + 60 * DAY)
    return harness


def test_post_purchase_five_stars_asks_for_referral() -> None:
    harness = post_purchase(5)
    assert harness.sent() == [
        ("thank_you", "send_email", 0),
        ("product_tips", "send_email", 7 * DAY),
        ("ask_review", "send_email", 37 * DAY),
        ("referral", "send_email", 38 * DAY),
    ]
    assert harness.actions[0]["params"]["order_id"] == "o1"
    assert harness.requested() == [
        ("wait_7d", "wait", 7 * DAY),
        ("wait_30d", "wait", 37 * DAY),
        ("wait_review", "timeout", 51 * DAY),
    ]


def test_post_purchase_lower_rating_or_no_review_has_no_referral() -> None:
    for rating in (3, None):
        harness = post_purchase(rating)
        assert [a["node_id"] for a in harness.actions] == ["thank_you", "product_tips", "ask_review"]
        assert ("done", "exited") in harness.transitions()
        assert harness.live_runs() == {}
