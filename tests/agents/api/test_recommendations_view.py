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
