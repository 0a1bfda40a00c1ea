"""The workspace policy through the API and a real worker: published, versioned, refused with reasons,
and applied to every workflow (one cap across two workflows that declare none)."""

from __future__ import annotations

import time

import pytest

from tests.agents.api.fixtures import ApiWorker
from tests.agents.fixtures import wait_processed

pytestmark = pytest.mark.kafka

POLICY = {"version": 1, "note": "one marketing email a week",
          "frequency_caps": {"email": {"max": 1, "per": "7d"}},
          "send_rates": {"email": {"max": 20, "per": "1s"}}}  # fmt: skip


def newsletter(workflow_id: str) -> dict[str, object]:
    return {"id": workflow_id, "name": workflow_id, "trigger": {"event": "policy.go"}, "start": "send",
            "nodes": {"send": {"type": "action", "action": "send_email",
                               "params": {"template": "weekly", "to": "a@example.com"}}}}  # fmt: skip


def test_a_published_policy_caps_every_workflow(api_worker: ApiWorker) -> None:
    client = api_worker.client
    status, none = client.call("GET", "/v1/policy")
    assert status == 200 and none == {"version": None, "policy": None, "versions": []}

    status, refused = client.call("PUT", "/v1/policy", {**POLICY, "frequency_caps": {"emial": {"max": 1}}})
    assert status == 422 and refused["error"] == "invalid_policy"
    messages = [issue["message"] for issue in refused["details"]["issues"]]
    assert any("unknown channel 'emial'" in message for message in messages)
    assert client.call("PUT", "/v1/policy", [POLICY])[0] == 400

    status, published = client.call("PUT", "/v1/policy", POLICY)
    assert status == 200 and published["version"] == 1 and published["policy"] == POLICY
    status, conflict = client.call("PUT", "/v1/policy", {**POLICY, "note": "changed"})
    assert status == 409 and "publish it as version 2" in conflict["message"]

    for workflow_id in ("news_a", "news_b"):
        assert client.call("POST", "/v1/workflows", newsletter(workflow_id))[0] == 201
        assert client.call("POST", f"/v1/workflows/{workflow_id}/publish", {"note": "go"})[0] == 200
    now = int(time.time() * 1000)
    event = {"event_id": "p-1", "contact_id": "policy-ann", "type": "policy.go", "ts": now, "properties": {}}
    assert client.call("POST", "/v1/events", [event])[0] == 202
    wait_processed(api_worker.settings)

    status, ann = client.call("GET", "/v1/contacts/policy-ann")
    assert status == 200
    outcome = sorted((s["workflow_id"], s["transition"], s["reason"]) for s in ann["trace"]
                     if s["transition"] in ("acted", "capped"))  # fmt: skip
    assert outcome == [
        ("news_a", "acted", "send_email"),
        ("news_b", "capped", "frequency cap (workspace policy): 1 email per 1w"),
    ]
