"""The pure part of the recommendations API: report rows of the governing version only, and a draft only
from a change that applies and validates."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from agents.api.exceptions import ApiError
from agents.api.recommendations_view import governing, planned_draft, record, report_rows
from ml.workflow_recs import make
from tests.agents.api.fixtures import example_definition


def catalog() -> dict[tuple[str, int], dict[str, Any]]:
    published = example_definition("abandoned_cart")
    return {
        ("abandoned_cart", 1): published,
        ("abandoned_cart", 2): {**published, "version": 2, "status": "draft"},
    }


def test_rows_of_other_versions_are_left_out() -> None:
    report = {"columns": ["workflow_id", "version", "node", "sent"],
              "rows": [["w", 1, "a", 10], ["w", 2, "a", 99]]}  # fmt: skip
    assert report_rows(report, 1) == [{"workflow_id": "w", "version": 1, "node": "a", "sent": 10}]
    assert governing(catalog(), "abandoned_cart")["version"] == 1
    with pytest.raises(ApiError):
        governing(catalog(), "nope")


def test_a_draft_only_from_a_change_that_applies_and_validates() -> None:
    definitions = {("abandoned_cart", 1): example_definition("abandoned_cart")}
    definition = definitions[("abandoned_cart", 1)]
    good = make(definition, "fixed_wait_before_send", "wait_2h", {}, "", [
        {"op": "remove", "path": "/nodes/wait_2h/duration"},
        {"op": "add", "path": "/nodes/wait_2h/until", "value": "best_send_time"},
    ])  # fmt: skip
    (key, value), changes = planned_draft(definitions, definition, good)
    assert key == b"abandoned_cart@2" and orjson.loads(value)["status"] == "draft"
    assert [c["path"] for c in changes] == ["/nodes/wait_2h/duration", "/nodes/wait_2h/until"]
    empty = make(definition, "goal_never_reached", "purchased", {}, "", [])
    misfit = make(definition, "drop_off", "x", {}, "", [{"op": "remove", "path": "/nodes/gone/duration"}])
    invalid = make(definition, "drop_off", "x", {}, "", [{"op": "remove", "path": "/nodes/wait_2h/duration"}])
    for rec, status in ((empty, 409), (misfit, 409), (invalid, 422)):
        with pytest.raises(ApiError) as caught:
            planned_draft(definitions, definition, rec)
        assert caught.value.status == status
    assert orjson.loads(record(good, "dismissed", 5, reason="no")[1])["reason"] == "no"


def as_report(rows: list[dict[str, Any]], version: int) -> dict[str, Any]:
    """Rows as the analytics endpoint answers a report: columns and row lists, with the version column."""
    columns = ["workflow_id", "version", *(rows[0] if rows else {})]
    return {"columns": columns, "rows": [["welcome", version, *row.values()] for row in rows]}


def made(**figures: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The kinds the API would list for the ml tests' `welcome` definition (version 3) from these report
    rows, with the same rows also filed under another version, which must not count."""
    from agents.api.recommendations_view import current
    from tests.ml.test_recommend_workflow import definition

    reports: dict[str, Any] = {}
    for name in ("sends", "funnel", "lift"):
        rows = figures.get(name, [])
        mine, other = as_report(rows, 3), as_report(rows, 2)
        reports[name] = {"columns": mine["columns"], "rows": mine["rows"] + other["rows"]}
    reports["channels"] = {"columns": ["node"], "rows": []}
    return [(r.kind, r.node) for r in current(definition(), reports)]


def test_every_kind_reaches_the_api_from_report_rows_and_none_without_enough_data() -> None:
    from tests.ml.test_recommend_workflow import funnel, lift, send

    drop = made(sends=[send("email_1", 1000, 400), send("email_2", 900, 216)])
    assert ("open_rate_drop", "email_2") in drop
    assert made(sends=[send("email_1", 60, 30), send("email_2", 60, 10)]) == []
    low_clicks = [send("email_1", 1000, 400, 120), send("email_2", 1000, 400, 40)]
    assert ("click_rate_low", "email_2") in made(sends=low_clicks)
    even_clicks = [send("email_1", 1000, 400, 80), send("email_2", 1000, 400, 80)]
    assert [k for k in made(sends=even_clicks) if k[0] == "click_rate_low"] == []
    assert made(lift=lift((1000, 200), (1000, 120), (200, 20))) == [("split_winner", "split")]
    assert made(lift=lift((90, 30), (90, 10), (90, 5))) == []
    reached = {"split": 400, "email_1": 400, "wait_1d": 400, "email_2": 150, "wait_buy": 150, "bought": 20}
    assert made(funnel=funnel(400, reached, {"bought": 20})) == [("drop_off", "wait_1d")]
    assert made(funnel=funnel(40, {k: v // 10 for k, v in reached.items()}, {"bought": 2})) == []
    no_goal = {"split": 300, "email_1": 300, "wait_1d": 300, "email_2": 300, "wait_buy": 300}
    assert made(funnel=funnel(300, no_goal)) == [("goal_never_reached", "bought")]
    assert made(funnel=funnel(50, {k: 50 for k in no_goal})) == []
    assert made(sends=[send("email_2", 100, 30)]) == [("fixed_wait_before_send", "wait_1d")]
    assert made(sends=[send("email_2", 99, 30)]) == []


def test_a_dismissed_recommendation_stays_hidden_and_only_that_one() -> None:
    from agents.api.recommendations_view import current
    from tests.ml.test_recommend_workflow import definition, send

    sends = as_report([send("email_1", 1000, 400), send("email_2", 900, 216)], 3)
    reports: dict[str, Any] = {"sends": sends, "funnel": as_report([], 3), "lift": as_report([], 3),
                               "channels": {"columns": ["node"], "rows": []}}  # fmt: skip
    shown = current(definition(), reports)
    assert ("open_rate_drop", "email_2") in [(r.kind, r.node) for r in shown]
    first = next(r for r in shown if r.kind == "open_rate_drop")
    reports["recommendations_dismissed"] = {
        "columns": ["recommendation_id", "reason", "dismissed_at"],
        "rows": [[first.id, "not now", 1], ["rec_of_another_change", "", 2]],
    }
    after = current(definition(), reports)
    assert [r.id for r in after] == [r.id for r in shown if r is not first]
