"""The workflow catalog through the API: drafts, validation with positions, publishing, status changes."""

from __future__ import annotations

import time

import pytest

from tests.agents.api.fixtures import ApiWorker, example_definition

pytestmark = pytest.mark.kafka


def small(workflow_id: str, next_node: str = "bye") -> dict[str, object]:
    return {"id": workflow_id, "name": "Small", "trigger": {"event": "signup"}, "start": "hello",
            "nodes": {"hello": {"type": "action", "action": "send_email", "params": {"template": "hi"},
                                "next": next_node},
                      "bye": {"type": "exit"}},
            "layout": {"hello": {"x": 10, "y": 20}}}  # fmt: skip


def test_draft_lifecycle_create_update_validate_publish_pause_resume_archive(api_worker: ApiWorker) -> None:
    client = api_worker.client
    status, created = client.call("POST", "/v1/workflows", small("wf_life", next_node="nowhere"))
    assert status == 201
    assert (created["version"], created["status"], created["draft_version"]) == (1, "draft", 1)
    assert client.call("POST", "/v1/workflows", small("wf_life"))[1]["error"] == "draft_exists"

    status, result = client.call("POST", "/v1/workflows/wf_life/validate")  # the stored draft
    assert status == 200 and result["valid"] is False
    broken = [i for i in result["issues"] if i["severity"] == "error"]
    assert broken and broken[0]["node"] == "hello" and "nowhere" in broken[0]["message"]
    status, refused = client.call("POST", "/v1/workflows/wf_life/publish", {"note": "too early"})
    assert status == 422 and refused["details"]["valid"] is False

    status, updated = client.call("PUT", "/v1/workflows/wf_life/draft", small("ignored_id"))
    assert (
        status == 200 and updated["definition"]["id"] == "wf_life" and updated["definition"]["version"] == 1
    )
    assert client.call("POST", "/v1/workflows/wf_life/validate")[1] == {"valid": True, "issues": []}
    before = int(time.time() * 1000)
    status, published = client.call("POST", "/v1/workflows/wf_life/publish", {"note": "first cut"})
    assert status == 200 and published["status"] == "published" and published["draft_version"] is None
    stamp = published["versions"][0]["published_at"]
    assert before <= stamp <= int(time.time() * 1000)  # the worker's clock at publishing
    assert published["versions"] == [
        {"version": 1, "status": "published", "note": "first cut", "published_at": stamp}
    ]
    assert published["definition"]["layout"] == {"hello": {"x": 10, "y": 20}}

    assert client.call("POST", "/v1/workflows/wf_life/pause")[1]["status"] == "paused"
    assert client.call("POST", "/v1/workflows/wf_life/resume")[1]["status"] == "published"
    status, second = client.call("POST", "/v1/workflows", {**small("wf_life"), "name": "Small v2"})
    assert (status, second["draft_version"], second["version"]) == (201, 2, 1)
    client.call("POST", "/v1/workflows/wf_life/publish", {"note": "renamed"})
    assert client.call("POST", "/v1/workflows/wf_life/archive")[1]["status"] == "archived"

    status, full = client.call("GET", "/v1/workflows/wf_life")
    assert status == 200
    assert [(v["version"], v["status"], v["note"]) for v in full["versions"]] == [
        (1, "published", "first cut"), (2, "archived", "renamed"),
    ]  # fmt: skip
    assert [d["name"] for d in full["definitions"]] == ["Small", "Small v2"]
    listed = client.call("GET", "/v1/workflows")[1]["workflows"]
    assert "wf_life" in [w["id"] for w in listed]


def test_validate_text_reports_line_and_column(api_worker: ApiWorker) -> None:
    text = (
        "id: t\nversion: 1\nstatus: draft\ntrigger:\n  event: a\nstart: w\n"
        "nodes:\n  w:\n    type: wait\n    duration: 2x\n"
    )
    status, result = api_worker.client.call("POST", "/v1/workflows/t/validate", {"text": text})
    assert status == 200 and not result["valid"]
    issue = result["issues"][0]
    assert (issue["node"], issue["line"]) == ("w", 10) and issue["column"] is not None


def test_validate_definition_flags_unreachable_nodes(api_worker: ApiWorker) -> None:
    definition = small("wf_unreach")
    definition["nodes"]["orphan"] = {"type": "exit"}  # type: ignore[index]
    status, result = api_worker.client.call("POST", "/v1/workflows/x/validate", {"definition": definition})
    assert status == 200
    assert any(i["node"] == "orphan" and "reach" in i["message"] for i in result["issues"])


def test_unknown_workflows_and_bad_bodies(api_worker: ApiWorker) -> None:
    client = api_worker.client
    assert client.call("GET", "/v1/workflows/nope")[0] == 404
    assert client.call("PUT", "/v1/workflows/nope/draft", small("nope"))[1]["error"] == "no_draft"
    assert client.call("POST", "/v1/workflows/nope/publish")[1]["error"] == "no_draft"
    assert client.call("POST", "/v1/workflows/nope/pause")[1]["error"] == "not_published"
    assert client.call("POST", "/v1/workflows", {"name": "no id"})[1]["error"] == "bad_definition"
    assert client.call("POST", "/v1/workflows", [1, 2])[1]["error"] == "bad_definition"
    assert client.call("POST", "/v1/workflows/x/validate", {"other": 1})[0] == 400


def test_templates_and_schema_are_served(api_worker: ApiWorker) -> None:
    status, body = api_worker.client.call("GET", "/v1/templates")
    names = [t["name"] for t in body["templates"]]
    assert status == 200 and "abandoned_cart" in names and "document_workflow" in names
    cart = next(t for t in body["templates"] if t["name"] == "abandoned_cart")
    assert cart["definition"] == example_definition("abandoned_cart")
    assert cart["description"] == example_definition("abandoned_cart")["description"]
    assert all(t["description"] for t in body["templates"])  # the gallery's one line for each example
    status, schema = api_worker.client.call("GET", "/v1/schema/workflow")
    assert status == 200 and "wait_for_node" in schema["$defs"]
    status, document = api_worker.client.call("GET", "/v1/openapi.json")
    assert status == 200 and document["openapi"].startswith("3.1")


def test_validate_knows_send_email_variants(api_worker: ApiWorker) -> None:
    text = (
        "id: t\nversion: 1\nstatus: draft\ntrigger:\n  event: a\nstart: s\nnodes:\n  s:\n    type: action\n"
        "    action: send_email\n    params:\n      template: weekly\n      variants:\n"
        "        - {topic: travel, template: weekly_travel}\n        - {topic: Food, subject: Recipes}\n"
    )
    status, result = api_worker.client.call("POST", "/v1/workflows/t/validate", {"text": text})
    assert status == 200 and not result["valid"]
    issue = result["issues"][0]
    assert (issue["node"], issue["line"]) == ("s", 15) and issue["column"] is not None
    assert "topic 'Food'" in issue["message"]
    fixed = text.replace("topic: Food", "topic: food")
    assert api_worker.client.call("POST", "/v1/workflows/t/validate", {"text": fixed})[1]["valid"] is True
    schema = api_worker.client.call("GET", "/v1/schema/workflow")[1]
    assert schema["$defs"]["email_variant"]["required"] == ["topic"]
