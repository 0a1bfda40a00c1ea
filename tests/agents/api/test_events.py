"""POST /v1/events against a real worker: accepted events reach Kafka; a bad batch sends nothing."""

from __future__ import annotations

import asyncio
import time

import orjson
import pytest

from tests.agents.api.fixtures import ApiWorker
from tests.agents.fixtures import read_topic

pytestmark = pytest.mark.kafka


def now_ms() -> int:
    return int(time.time() * 1000)


def event(
    event_id: str, contact: str = "c1", etype: str = "page.viewed", **props: object
) -> dict[str, object]:
    return {"event_id": event_id, "contact_id": contact, "type": etype, "ts": now_ms(), "properties": props}


def topic_event_ids(worker: ApiWorker, expect: int) -> list[str]:
    settings = worker.settings
    records = asyncio.run(read_topic(settings.bootstrap, settings.topic("events"), expect, timeout=10))
    return [orjson.loads(r.value)["event_id"] for r in records if r.value and r.key]


def test_single_and_batched_events_are_produced_keyed_by_contact(api_worker: ApiWorker) -> None:
    client = api_worker.client
    status, body = client.call("POST", "/v1/events", event("single-1", page="pricing"))
    assert (status, body) == (202, {"accepted": 1, "event_ids": ["single-1"]})
    status, body = client.call("POST", "/v1/events", [event("batch-1", "c2"), event("batch-2", "c3")])
    assert status == 202 and body["event_ids"] == ["batch-1", "batch-2"]
    status, body = client.call(
        "POST", "/v1/events", {"events": [{**event("batch-3"), "ts": "2026-01-01T10:00:00Z"}]}
    )
    assert status == 202
    settings = api_worker.settings
    records = asyncio.run(read_topic(settings.bootstrap, settings.topic("events"), 4, timeout=20))
    by_id = {orjson.loads(r.value)["event_id"]: (r.key, orjson.loads(r.value)) for r in records if r.value}
    assert {"single-1", "batch-1", "batch-2", "batch-3"} <= set(by_id)
    assert by_id["batch-2"][0] == b"c3"
    assert by_id["batch-3"][1]["ts"] == 1_767_261_600_000  # RFC 3339 normalised to ms


def test_a_batch_with_bad_events_reports_every_error_and_sends_nothing(api_worker: ApiWorker) -> None:
    batch = [
        event("good-but-withheld"),
        {"event_id": "x", "contact_id": "c1", "type": "bad type!", "ts": now_ms()},
        {"event_id": "y", "contact_id": "c1", "type": "a", "ts": 1_700_000_000},  # seconds, not ms
        "not an object",
        {**event("z"), "extra": 1},
    ]
    # nested past the 255 levels JSON is written with (a body may nest 1,024): a 400 like the others
    nested = b'{"a":' * 300 + b"1" + b"}" * 300
    deep = orjson.dumps({**event("deep"), "properties": "NESTED"}).replace(
        b'"NESTED"', b'{"a":' + nested + b"}"
    )
    raw = orjson.dumps(batch)[:-1] + b"," + deep + b"]"
    status, body = api_worker.client.call("POST", "/v1/events", raw=raw)
    assert status == 400 and body["error"] == "invalid_events"
    assert [(d["index"], d["reason"]) for d in body["details"]] == [
        (1, "bad_type"), (2, "ts_out_of_range"), (3, "not_object"), (4, "unknown_field"), (5, "too_deep"),
    ]  # fmt: skip
    assert api_worker.client.call("POST", "/v1/events", event("marker-after-bad-batch"))[0] == 202
    deadline = time.monotonic() + 20
    seen: list[str] = []
    while "marker-after-bad-batch" not in seen and time.monotonic() < deadline:
        seen = topic_event_ids(api_worker, 1_000_000)
    assert "marker-after-bad-batch" in seen
    assert "good-but-withheld" not in seen


def test_bodies_that_are_not_events(api_worker: ApiWorker) -> None:
    client = api_worker.client
    assert client.call("POST", "/v1/events", raw=b"{not json")[1]["error"] == "not_json"
    assert client.call("POST", "/v1/events", [])[1]["error"] == "bad_body"
    status, body = client.call("POST", "/v1/events", raw=b" ")
    assert (status, body["error"]) == (400, "empty_body")


def test_oversized_bodies_get_413(api_worker: ApiWorker) -> None:
    huge = [event(f"big-{i}", padding="x" * 1000) for i in range(1200)]  # ~1.3 MB > the 1 MiB default
    status, body = api_worker.client.call("POST", "/v1/events", huge)
    assert status == 413 and body["error"] == "too_large"
    one_big_event = event("fat", padding="x" * 70_000)  # over the worker's 64 KiB event limit
    status, body = api_worker.client.call("POST", "/v1/events", one_big_event)
    assert status == 400 and body["details"][0]["reason"] == "oversized"
