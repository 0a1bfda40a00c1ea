"""The diff between two stored versions (agents/api/version_diff.py), on the example definitions: nodes added,
removed and changed field by field, workflow-level changes, layout and metadata left out, bounds."""

from __future__ import annotations

import copy

import pytest

from agents.api.exceptions import ApiError
from agents.api.version_diff import MAX_CHANGES, diff_definitions, field_changes, version_diff
from tests.agents.api.fixtures import example_definition


def test_nodes_added_removed_and_changed_field_by_field() -> None:
    old = example_definition("abandoned_cart")
    new = copy.deepcopy(old)
    new["nodes"]["wait_2h"]["duration"] = "3h"
    new["nodes"]["reminder"]["params"]["subject"] = "Still there?"
    del new["nodes"]["notify_sales"]
    new["nodes"]["wait_purchase_2"]["on_timeout"] = "bye"
    new["nodes"]["bye"] = {"type": "exit"}
    new["settings"]["exit_when"].append({"event": "account.closed"})
    new["layout"] = {"wait_2h": {"x": 500, "y": 9}}
    new["metadata"] = {"version_note": "moved things"}

    found = diff_definitions(old, new)

    assert found["added"] == [{"node": "bye", "type": "exit"}]
    assert found["removed"] == [{"node": "notify_sales", "type": "action"}]
    by_node = {c["node"]: c["changes"] for c in found["changed"]}
    assert by_node == {
        "reminder": [{"field": "params.subject", "before": old["nodes"]["reminder"]["params"]["subject"],
                      "after": "Still there?"}],
        "wait_2h": [{"field": "duration", "before": "2h", "after": "3h"}],
        "wait_purchase_2": [{"field": "on_timeout", "before": "notify_sales", "after": "bye"}],
    }  # fmt: skip
    # a list that grew is one change of the whole value; layout and metadata are no changes
    assert found["workflow"] == [
        {
            "field": "settings.exit_when",
            "before": old["settings"]["exit_when"],
            "after": new["settings"]["exit_when"],
        }
    ]


def test_the_same_definition_has_no_changes_and_lists_are_compared_item_by_item() -> None:
    cart = example_definition("abandoned_cart")
    assert diff_definitions(cart, copy.deepcopy(cart)) == {
        "added": [],
        "removed": [],
        "changed": [],
        "workflow": [],
    }
    assert field_changes([{"a": 1}, 2], [{"a": 5}, 2], "x") == [{"field": "x.0.a", "before": 1, "after": 5}]
    assert field_changes({"a": 1}, {"b": 1}) == [
        {"field": "a", "before": 1, "after": None},
        {"field": "b", "before": None, "after": 1},
    ]


def test_missing_versions_and_oversized_diffs_are_refused() -> None:
    cart = example_definition("abandoned_cart")
    stored = {("abandoned_cart", 1): cart, ("abandoned_cart", 2): {**cart, "version": 2}}
    assert version_diff(stored, "abandoned_cart", 1, 2)["changed"] == []
    with pytest.raises(ApiError) as missing:
        version_diff(stored, "abandoned_cart", 1, 3)
    assert (missing.value.status, missing.value.code) == (404, "no_version")
    with pytest.raises(ApiError) as unknown:
        version_diff(stored, "nope", 1, 2)
    assert unknown.value.status == 404
    huge = {
        **cart,
        "nodes": {f"n{i}": {"type": "wait", "duration": f"{i + 1}h"} for i in range(MAX_CHANGES + 1)},
    }
    wider = {**huge, "nodes": {k: {**v, "duration": "1w"} for k, v in huge["nodes"].items()}}
    with pytest.raises(ApiError) as large:
        diff_definitions(huge, wider)
    assert (large.value.status, large.value.code) == (422, "diff_too_large")
