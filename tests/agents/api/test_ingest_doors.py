"""The doors producers already use: Segment's SDK against the tracking API, and signed inbound webhooks,
against a real worker and broker; the mappings and signature checks as pure units."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from segment.analytics.client import Client
from standardwebhooks.webhooks import Webhook

from agents.api.exceptions import ApiConfigError
from agents.api.hooks import load_sources, map_payload, verified
from agents.api.routes.segment import MAX_ALIASES_PER_REQUEST
from agents.api.segment import Alias, event_type_of, to_event
from agents.topic_reader import Record, read_to_end
from engine.events import Malformed
from tests.agents.api.fixtures import ApiWorker, api_settings, example_definition, start_api_worker
from tests.agents.fixtures import Consumed, read_topic

HOOKS_FILE = Path(__file__).resolve().parents[3] / "examples" / "hooks" / "sources.yaml"
SHOP_SECRET = "whsec_" + base64.b64encode(b"shop-secret-key-0123456789").decode()
FORMS_SECRET = "forms-secret"
WRITE_KEY = "wk_test_123"
ENV = {"SHOP_WEBHOOK_SECRET": SHOP_SECRET, "FORMS_WEBHOOK_SECRET": FORMS_SECRET}
T0 = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


# --- pure: the Segment mapping ---


def test_track_identify_page_group_map_to_the_event_contract() -> None:
    base = {"userId": "u1", "messageId": "m1", "timestamp": "2026-12-01T09:30:00.250+00:00"}
    track = to_event({**base, "event": "Order Completed", "properties": {"total": 3}}, "track", 0)
    assert track == {"event_id": "m1", "contact_id": "u1", "type": "order_completed",
                     "ts": 1_796_117_400_250, "properties": {"total": 3}}  # fmt: skip
    identify = to_event({**base, "type": "identify", "traits": {"email": "a@x.io"}}, None, 0)
    assert isinstance(identify, dict) and identify["type"] == "contact.updated"
    assert identify["properties"] == {"email": "a@x.io"}
    page = to_event({**base, "name": "Pricing", "category": "Docs", "properties": {"url": "/p"}}, "page", 0)
    assert isinstance(page, dict) and page["type"] == "page.viewed"
    assert page["properties"] == {"url": "/p", "name": "Pricing", "category": "Docs"}
    group = to_event({**base, "groupId": 7, "traits": {"plan": "team"}}, "group", 0)
    assert isinstance(group, dict) and group["properties"] == {"group_id": "7", "traits": {"plan": "team"}}
    anonymous = to_event({"anonymousId": "anon", "event": "x", "messageId": "m2"}, "track", 123)
    assert isinstance(anonymous, dict) and (anonymous["contact_id"], anonymous["ts"]) == ("anon", 123)
    alias = to_event({"userId": "u1", "previousId": "anon", "messageId": "m3"}, "alias", 5)
    assert alias == Alias("m3", "u1", "anon", 5)


def test_event_names_become_types() -> None:
    assert event_type_of("Order Completed") == "order_completed"
    assert event_type_of("cart.created") == "cart.created"
    assert event_type_of("  Signed Up!! (v2) ") == "signed_up_v2"


@pytest.mark.parametrize(
    ("message", "kind", "reason"),
    [
        ({"event": "x"}, "track", "missing_identity"),
        ({"userId": "u"}, "track", "missing_event"),
        ({"userId": "u", "event": "x", "timestamp": "yesterday"}, "track", "bad_timestamp"),
        ({"userId": "u", "event": "x", "properties": [1]}, "track", "bad_field"),
        ({"userId": "u"}, "alias", "missing_previous_id"),
        ({"userId": "u"}, "group", "missing_group_id"),
        ({"userId": "u", "type": "fly"}, None, "bad_type"),
        ({"userId": "u", "event": "x", "properties": {"blob": "a" * 40_000}}, "track", "message_too_large"),
        ("text", "track", "not_object"),
        ({"userId": "u", "event": "x", "properties": orjson.loads(b'{"a":' * 300 + b"1" + b"}" * 300)},
         "track", "too_deep"),
    ],
)  # fmt: skip
def test_messages_that_cannot_map_say_why(message: Any, kind: str | None, reason: str) -> None:
    refused = to_event(message, kind, 0)
    assert isinstance(refused, Malformed) and refused.reason == reason


def test_a_message_without_an_id_gets_the_same_id_every_time() -> None:
    message = {"userId": "u", "event": "x", "timestamp": "2026-12-01T00:00:00Z"}
    first, second = to_event(message, "track", 0), to_event(dict(message), "track", 99)
    assert isinstance(first, dict) and isinstance(second, dict)
    assert first["event_id"] == second["event_id"] and first["event_id"].startswith("segment-")


# --- pure: webhook sources ---


def shop_payload(
    kind: str = "checkout.session.completed", customer: str | None = "hook-c1"
) -> dict[str, Any]:
    return {"id": "evt_1", "type": kind, "created": 1_764_581_400,
            "data": {"object": {"id": "cs_1", "client_reference_id": customer, "customer": None,
                                "amount_total": 4200, "currency": "eur",
                                "customer_details": {"email": "c1@example.com"}}}}  # fmt: skip


def standard_headers(secret: str, body: bytes, message_id: str = "msg_1") -> dict[str, str]:
    signature = Webhook(secret).sign(message_id, datetime.now(UTC), body)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(time.time())),
        "webhook-signature": signature,
    }


def forms_headers(body: bytes, secret: str = FORMS_SECRET) -> dict[str, str]:
    return {"X-Forms-Signature": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()}


def test_the_example_sources_load_verify_and_map() -> None:
    sources = load_sources(HOOKS_FILE, ENV)
    shop, forms = sources["shop"], sources["forms"]
    body = orjson.dumps(shop_payload())
    assert verified(shop, body, standard_headers(SHOP_SECRET, body)) is None
    assert verified(shop, body, {}) == Malformed("unsigned", "no webhook-signature header")
    other = "whsec_" + base64.b64encode(b"another-destination-key").decode()
    assert verified(shop, body, standard_headers(other, body)) == Malformed(
        "bad_signature", "the signature does not verify"
    )
    tampered = standard_headers(SHOP_SECRET, body)
    assert verified(shop, body + b" ", tampered) is not None
    assert verified(shop, body, {**tampered, "webhook-signature": "v1,%%%"}) is not None
    assert verified(forms, body, forms_headers(body)) is None
    assert verified(forms, body, forms_headers(body, "wrong")) == Malformed(
        "bad_signature", "the signature does not verify"
    )
    assert map_payload(shop, shop_payload(), "fallback", 0) == {
        "event_id": "evt_1", "contact_id": "hook-c1", "type": "purchase", "ts": 1_764_581_400_000,
        "properties": {"amount": 4200, "currency": "eur", "checkout_id": "cs_1", "email": "c1@example.com"},
    }  # fmt: skip
    assert map_payload(shop, shop_payload("invoice.paid"), "f", 0) == Malformed(
        "unmapped", "no mapping of source 'shop' matches this payload"
    )
    refused = map_payload(shop, shop_payload(customer=None), "f", 0)
    assert isinstance(refused, Malformed) and refused.reason == "unmappable"


def test_a_bad_sources_file_names_the_place(tmp_path: Path) -> None:
    bad = tmp_path / "hooks.yaml"
    bad.write_text("sources:\n  s:\n    secret_env: S\n    signature: standard-webhooks\n"
                   "    events:\n      - type: x\n        contact_id: 'a[?'\n")  # fmt: skip
    with pytest.raises(ApiConfigError, match=r"sources\.s\.events\[0\]\.contact_id: 'a\[\?' is not JMESPath"):
        load_sources(bad, {"S": "k"})
    with pytest.raises(ApiConfigError, match=r"sources\.s\.secret_env"):
        load_sources(bad, {})


# --- against a running worker ---


@pytest.fixture(scope="module")
def doors_worker(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiWorker]:
    tmp = tmp_path_factory.mktemp("doors")
    env = {**ENV, "SWITCHYARD_SEGMENT_WRITE_KEYS": WRITE_KEY, "SWITCHYARD_HOOKS": str(HOOKS_FILE)}
    worker = start_api_worker(api_settings(kafka_bootstrap, tmp / "data"), tmp / "worker.log", env)
    yield worker
    worker.process.stop()


def post(worker: ApiWorker, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(worker.client.base + path, data=body, method="POST")
    for name, value in {"Content-Type": "application/json", **headers}.items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def topic(worker: ApiWorker, name: str, expect: int) -> list[Consumed]:
    settings = worker.settings
    return asyncio.run(read_topic(settings.bootstrap, settings.topic(name), expect, timeout=20))


def dead_letters(
    worker: ApiWorker, source: bytes, reasons: set[bytes], timeout: float = 20.0
) -> list[Record]:
    """The dead letters ``source`` wrote, once they include every one of ``reasons`` (all there are when the
    timeout passes): the DLQ is shared by the module's tests, so its size says nothing."""
    deadline = time.monotonic() + timeout
    while True:
        records = asyncio.run(read_to_end(worker.settings.bootstrap, worker.settings.topic("events.dlq")))
        found = [r for r in records if r.headers.get("x-switchyard-source") == source]
        if reasons <= {r.headers.get("x-switchyard-reason") for r in found} or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def profile_attrs(worker: ApiWorker, contact: str, wanted: str, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    attrs: dict[str, Any] = {}
    while time.monotonic() < deadline:
        _, body = worker.client.call("GET", f"/v1/contacts/{contact}")
        attrs = ((body.get("profile") or {}).get("attrs")) or {}
        if wanted in attrs:
            return attrs
        time.sleep(0.5)
    return attrs


@pytest.mark.kafka
def test_the_official_segment_sdk_sends_track_identify_page_and_a_batch_of_500(
    doors_worker: ApiWorker,
) -> None:
    errors: list[Any] = []
    client = Client(write_key=WRITE_KEY, host=doors_worker.client.base, upload_size=500, upload_interval=3.0,
                    max_retries=0, on_error=lambda error, batch: errors.append(error))  # fmt: skip
    client.identify("sdk-u1", {"email": "ada@example.com", "first_name": "Ada"}, message_id="m-identify",
                    timestamp=T0)  # fmt: skip
    client.track("sdk-u1", "Order Completed", {"total": 42}, message_id="m-track", timestamp=T0)
    client.page("sdk-u1", "Docs", "Pricing", {"url": "/pricing"}, message_id="m-page", timestamp=T0)
    for i in range(500):
        client.track(f"sdk-b{i % 50}", "Item Viewed", {"i": i}, message_id=f"m-b{i}", timestamp=T0)
    client.flush()
    client.join()
    assert errors == []

    records = topic(doors_worker, "events", 503)
    by_id = {orjson.loads(r.value)["event_id"]: (r.key, orjson.loads(r.value)) for r in records if r.value}
    expected_ts = int(T0.timestamp() * 1000)
    key, identify = by_id["m-identify"]
    assert key == b"sdk-u1" and identify["type"] == "contact.updated" and identify["ts"] == expected_ts
    assert by_id["m-track"][1]["type"] == "order_completed" and by_id["m-track"][1]["properties"] == {
        "total": 42
    }
    assert by_id["m-page"][1]["type"] == "page.viewed"
    assert by_id["m-page"][1]["properties"] == {"url": "/pricing", "name": "Pricing", "category": "Docs"}
    batch = [by_id.get(f"m-b{i}") for i in range(500)]
    assert all(found is not None for found in batch)
    assert all(found[0] == f"sdk-b{i % 50}".encode() and found[1]["ts"] == expected_ts
               for i, found in enumerate(batch) if found is not None)  # fmt: skip

    assert profile_attrs(doors_worker, "sdk-u1", "first_name") == {
        "email": "ada@example.com",
        "first_name": "Ada",
    }


@pytest.mark.kafka
def test_alias_merges_the_anonymous_profile_into_the_known_one(doors_worker: ApiWorker) -> None:
    client = Client(write_key=WRITE_KEY, host=doors_worker.client.base, sync_mode=True, max_retries=0)
    client.identify(
        anonymous_id="anon-7", traits={"plan": "pro", "city": "Lyon"}, message_id="a-1", timestamp=T0
    )
    client.identify("known-7", {"city": "Paris"}, message_id="a-2", timestamp=T0)
    assert profile_attrs(doors_worker, "anon-7", "plan")
    assert profile_attrs(doors_worker, "known-7", "city")
    client.alias("anon-7", "known-7", message_id="a-3", timestamp=T0)
    assert profile_attrs(doors_worker, "known-7", "plan") == {"city": "Paris", "plan": "pro"}  # known wins


@pytest.mark.kafka
def test_segment_refusals_answer_like_segment_and_are_dead_lettered(doors_worker: ApiWorker) -> None:
    good = orjson.dumps({"userId": "r1", "event": "x", "messageId": "r-1"})
    assert post(doors_worker, "/v1/track", good, basic("wrong"))[0] == 401
    assert post(doors_worker, "/v1/track", good, {})[0] == 401
    status, body = post(doors_worker, "/v1/track", b"{not json", basic(WRITE_KEY))
    assert (status, body["error"]) == (400, "not_json")
    big = orjson.dumps({"userId": "r1", "event": "x", "properties": {"b": "a" * 40_000}})
    assert post(doors_worker, "/v1/track", big, basic(WRITE_KEY))[0] == 400
    status, body = post(
        doors_worker, "/v1/track", orjson.dumps({"event": "x", "messageId": "r-2"}), basic(WRITE_KEY)
    )
    assert (status, body["error"]) == (400, "missing_identity")
    ok = {"type": "track", "userId": "r3", "event": "ok", "messageId": "r-3"}
    mixed = {"batch": [ok, {**ok, "event": "timer.fired", "messageId": "r-4"}]}
    # nested past the 255 levels JSON is written with (a body may nest 1,024): refused alone, not a 500
    nested = b'{"a":' * 300 + b"1" + b"}" * 300
    deep = orjson.dumps({**ok, "messageId": "r-5", "properties": "NESTED"}).replace(
        b'"NESTED"', b'{"a":' + nested + b"}"
    )
    raw = orjson.dumps(mixed)[:-2] + b"," + deep + b"]}"
    status, body = post(doors_worker, "/v1/batch", raw, basic(WRITE_KEY))
    assert status == 200 and body["accepted"] == 1
    assert [(r["index"], r["reason"]) for r in body["rejected"]] == [(1, "reserved_type"), (2, "too_deep")]
    # an alias reads two stored states: a request carries a few, the others are refused one by one
    aliases = [{"type": "alias", "userId": f"k{n}", "previousId": f"p{n}", "messageId": f"al-{n}"}
               for n in range(MAX_ALIASES_PER_REQUEST + 1)]  # fmt: skip
    status, body = post(doors_worker, "/v1/batch", orjson.dumps({"batch": aliases}), basic(WRITE_KEY))
    assert status == 200 and [(r["index"], r["reason"]) for r in body["rejected"]] == [
        (MAX_ALIASES_PER_REQUEST, "too_many_aliases")
    ]
    wanted = {b"missing_identity", b"reserved_type", b"too_deep", b"too_many_aliases"}
    letters = dead_letters(doors_worker, b"api:segment", wanted)
    assert wanted <= {r.headers.get("x-switchyard-reason") for r in letters}


@pytest.mark.kafka
def test_signed_webhook_starts_a_workflow_and_bad_ones_are_refused_into_the_dlq(
    doors_worker: ApiWorker,
) -> None:
    client = doors_worker.client
    definition = example_definition("post_purchase")
    assert client.call("POST", "/v1/workflows", definition)[0] == 201
    assert client.call("POST", "/v1/workflows/post_purchase/publish", {"note": "hooks test"})[0] == 200

    payload = shop_payload(customer="hook-buyer")
    payload["created"] = int(time.time())
    body = orjson.dumps(payload)
    status, answer = post(doors_worker, "/v1/hooks/shop", body, standard_headers(SHOP_SECRET, body))
    assert (status, answer["event_ids"]) == (202, ["evt_1"])

    unsigned = post(doors_worker, "/v1/hooks/shop", body, {})
    assert (unsigned[0], unsigned[1]["error"]) == (401, "unsigned")
    other = orjson.dumps(shop_payload("invoice.paid"))
    unmapped = post(doors_worker, "/v1/hooks/shop", other, standard_headers(SHOP_SECRET, other, "msg_2"))
    assert (unmapped[0], unmapped[1]["error"]) == (400, "unmapped")
    assert post(doors_worker, "/v1/hooks/nowhere", body, {})[0] == 404
    # as large as a body may be (1 MiB): its dead letter, with the reason's headers, is larger than Kafka's
    # default limit, which the dead-letter topic raises
    large = b'{"note": "' + b"a" * (1_048_576 - 12) + b'"}'
    assert post(doors_worker, "/v1/hooks/shop", large, {})[0] == 401

    letters = dead_letters(doors_worker, b"api:hooks/shop", {b"unsigned", b"unmapped"})
    assert {(r.headers["x-switchyard-reason"], r.value) for r in letters} >= {
        (b"unsigned", body),
        (b"unmapped", other),
        (b"unsigned", large),
    }

    deadline, runs = time.monotonic() + 30, list[dict[str, Any]]()
    while time.monotonic() < deadline and not runs:
        runs = [
            r
            for r in client.call("GET", "/v1/contacts/hook-buyer")[1]["runs"]
            if r["workflow_id"] == "post_purchase"
        ]
        time.sleep(0.5)
    assert runs, "the purchase from the webhook did not start post_purchase"
