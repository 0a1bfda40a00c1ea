"""Event triggers with a sliding window: `{event: ..., filter: ..., times: N, within: D}` fires on the event
that completes N matching events within D of event time, and only then."""

from __future__ import annotations

import pytest

from engine.exceptions import WorkflowInvalid
from engine.validation import load_workflow
from engine.workflows import WorkflowSet
from tests.engine.fixtures import DAY, MINUTE, T0, Harness, workflow_text

BODY = "  a: {type: action, action: send_email, params: {template: pricing, subject: Plans}}\n"
PRICING = "{event: page.viewed, filter: \"event.page == 'pricing'\", times: 3, within: 7d}"


def harness(trigger: str = PRICING) -> Harness:
    return Harness(
        WorkflowSet([load_workflow(workflow_text(BODY, trigger=trigger, settings="{reentry: always}"))])
    )


def fired_on(days: list[int], pages: list[str] | None = None) -> list[int]:
    h = harness()
    fired = []
    for index, day in enumerate(days):
        page = pages[index] if pages else "pricing"
        if h.send("page.viewed", at=T0 + day * DAY, page=page).actions:
            fired.append(day)
    return fired


def test_three_visits_spread_wider_than_the_window_never_fire() -> None:
    assert fired_on([0, 5, 10]) == []


def test_the_visit_completing_three_within_seven_days_fires() -> None:
    assert fired_on([0, 6, 8, 9]) == [9]


def test_the_window_slides_and_counts_only_matching_events() -> None:
    assert fired_on([0, 1, 2, 3]) == [2, 3]  # each visit that makes three within 7 days
    assert fired_on([0, 1, 2], ["pricing", "blog", "pricing"]) == []
    assert fired_on([0, 7, 8, 14]) == []  # 7 days exactly is outside: (now - 7d, now]


def test_the_kept_record_is_bounded_by_times() -> None:
    h = harness()
    for day in range(30):
        h.send("page.viewed", at=T0 + day * DAY, page="pricing")
    assert h.state is not None
    assert [len(hits) for hits in h.state["windows"].values()] == [3]


@pytest.mark.parametrize(
    ("trigger", "message"),
    [
        ("{event: x, times: 3}", "go together"),
        ("{event: x, within: 7d}", "go together"),
        ("{event: x, times: 1, within: 7d}", "at least 2"),
        ("{event: x, times: 3, within: soon}", "within"),
    ],
)
def test_bad_windows_are_refused_with_the_path(trigger: str, message: str) -> None:
    with pytest.raises(WorkflowInvalid, match=message):
        load_workflow(workflow_text(BODY, trigger=trigger))


def test_a_late_event_fires_only_with_neighbours_within_the_window() -> None:
    # 1:30 and 2:00 are kept; a late 0:45 makes three, but 0:45 to 2:00 is wider than 1h.
    h = harness("{event: page.viewed, times: 3, within: 1h}")
    fired = [h.send("page.viewed", at=T0 + minute * MINUTE).actions != [] for minute in (90, 120, 45)]
    assert fired == [False, False, False]


def test_a_late_event_completing_a_window_between_kept_times_fires() -> None:
    # 0:10 and 1:00 are kept; a late 0:30 makes three within 1h (0:10, 0:30, 1:00).
    h = harness("{event: page.viewed, times: 3, within: 1h}")
    fired = [h.send("page.viewed", at=T0 + minute * MINUTE).actions != [] for minute in (10, 60, 30)]
    assert fired == [False, False, True]
    assert h.state is not None
    assert list(h.state["windows"].values()) == [[T0 + m * MINUTE for m in (10, 30, 60)]]
