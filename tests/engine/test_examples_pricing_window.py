"""The pricing-page example with a windowed trigger: three visits within seven days, and only then."""

from __future__ import annotations

from tests.engine.fixtures import DAY, T0, Harness, example_set


def visits(days: list[int], page: str = "pricing") -> Harness:
    harness = Harness(example_set("pricing_page_three_visits"))
    for day in days:
        harness.send("page.viewed", at=T0 + day * DAY, page=page)
    return harness


def sent_for_visits(days: list[int], page: str = "pricing") -> list[tuple[str, str, int]]:
    return visits(days, page).sent()


def test_visits_on_days_0_5_10_do_not_fire() -> None:
    assert sent_for_visits([0, 5, 10]) == []


def test_visits_on_days_0_6_8_9_fire_on_day_9() -> None:
    harness = visits([0, 6, 8, 9])
    assert harness.sent() == [("notify_sales", "notify", 9 * DAY), ("comparison", "send_email", 9 * DAY)]
    assert "pricing-hot" in harness.state["profile"]["tags"]  # type: ignore[index]


def test_other_pages_do_not_count() -> None:
    assert sent_for_visits([0, 1, 2], page="blog") == []
