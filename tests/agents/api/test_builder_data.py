"""The builder's pickers and previews on real data: events sent through the API to a real worker, recorded
by the analytics writer (its own process), then GET /v1/events/seen and an email preview for a stored
contact; all behind a bearer token."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from engine.profile import TAG_KEYS
from tests.agents.api.fixtures import ApiWorker, worker_with_analytics
from tests.agents.fixtures import wait_processed
from tests.sinks.analytics.fixtures import WriterProcess, wait_until

pytestmark = pytest.mark.kafka
TOKEN = "builder-data-token"


@pytest.fixture(scope="module")
def with_analytics(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ApiWorker, WriterProcess]]:
    yield from worker_with_analytics(kafka_bootstrap, tmp_path_factory.mktemp("api-builder"), TOKEN)


def traffic(now: int) -> list[dict[str, Any]]:
    def event(n: int, contact: str, kind: str, **properties: Any) -> dict[str, Any]:
        return {"event_id": f"b-{n}", "contact_id": contact, "type": kind, "ts": now - 60_000 + n,
                "properties": properties}  # fmt: skip

    return [
        event(1, "ann", "contact.added", first_name="Ann", plan="pro", add_tags=["vip"]),
        event(2, "bob", "contact.added", plan="free", email="bob@example.com"),
        event(3, "bob", "crm.updated", company="Acme"),
        event(4, "ann", "page.viewed", url="/pricing", referrer="ad"),
        event(5, "bob", "page.viewed", url="/docs"),
        event(6, "ann", "page.viewed", url="/pricing", utm={"campaign": "x"}),
        event(7, "ann", "cart.created", cart_id="k1"),
    ]


def test_events_seen_lists_what_the_stream_carried(with_analytics: tuple[ApiWorker, WriterProcess]) -> None:
    worker, writer = with_analytics
    client = worker.client
    status, seen = client.call("GET", "/v1/events/seen")
    assert status == 200 and seen["event_types"] == [] and seen["contact_attributes"] == []

    sent = traffic(int(time.time() * 1000))
    assert client.call("POST", "/v1/events", sent)[0] == 202
    expected: dict[str, tuple[int, set[str]]] = {}
    for event in sent:
        count, keys = expected.get(event["type"], (0, set()))
        expected[event["type"]] = (count + 1, keys | set(event["properties"]))

    def arrived() -> bool:
        seen.update(client.call("GET", "/v1/events/seen?days=7")[1])
        return {row["type"]: row["count"] for row in seen["event_types"]} == {
            kind: count for kind, (count, _) in expected.items()
        }

    wait_until(arrived, 60, lambda: f"{seen}\n{writer.log_tail()}")
    assert seen["days"] == 7
    assert seen["event_types"][0]["type"] == "page.viewed"  # the most frequent first
    for row in seen["event_types"]:
        assert row["properties"] == sorted(expected[row["type"]][1]), row
        assert row["last_ts"] == max(e["ts"] for e in sent if e["type"] == row["type"])
    profile_keys = {k for e in sent if e["type"] in ("contact.added", "crm.updated") for k in e["properties"]}
    assert seen["contact_attributes"] == sorted(profile_keys - set(TAG_KEYS))
    assert "url" not in seen["contact_attributes"]  # page.viewed does not set attributes
    assert client.call("GET", "/v1/events/seen?days=0")[0] == 400
    assert client.call("GET", "/v1/events/seen?days=week")[0] == 400
    assert client.call("GET", "/v1/events/seen", token="")[0] == 401


def test_preview_for_a_stored_contact(with_analytics: tuple[ApiWorker, WriterProcess]) -> None:
    worker, _ = with_analytics
    client = worker.client
    now = int(time.time() * 1000)
    attrs = {"cy": {"first_name": "Cy"}, "di": {"plan": "pro"}}
    people = [{"event_id": f"p-{c}", "contact_id": c, "type": "contact.added", "ts": now - 1000,
               "properties": props} for c, props in attrs.items()]  # fmt: skip
    assert client.call("POST", "/v1/events", people)[0] == 202
    wait_processed(worker.settings)
    status, listed = client.call("GET", "/v1/message-templates")
    assert status == 200 and {"name": "cart_reminder", "parts": ["html"]} in listed["templates"]
    params = {"subject": "{{ contact.first_name | default('Hi') }}, you left something in your cart",
              "cart_id": "{{ run.vars.cart_id }}"}  # fmt: skip
    body = {"template": "cart_reminder", "params": params, "run": {"vars": {"cart_id": "k-77"}}}
    status, cy = client.call("POST", "/v1/message-templates/preview", {**body, "contact_id": "cy"})
    assert status == 200 and cy["contact_source"] == "stored"
    assert cy["subject"] == "Cy, you left something in your cart"
    assert "cart/k-77" in cy["html"] and "k-77" in cy["text"]
    status, di = client.call("POST", "/v1/message-templates/preview", {**body, "contact_id": "di"})
    assert status == 200 and di["subject"] == "Hi, you left something in your cart"
    status, nobody = client.call("POST", "/v1/message-templates/preview", {**body, "contact_id": "nobody"})
    assert (status, nobody["error"]) == (404, "unknown_contact")
    status, unknown = client.call("POST", "/v1/message-templates/preview", {"template": "no_such_email"})
    assert (status, unknown["error"]) == (404, "unknown_template")


def test_events_seen_without_an_analytics_endpoint_is_503(api_worker: ApiWorker) -> None:
    status, body = api_worker.client.call("GET", "/v1/events/seen")
    assert status == 503 and body["error"] == "analytics_unavailable"  # the pickers then offer no suggestions
