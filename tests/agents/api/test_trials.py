"""Simulate and backtest on the abandoned_cart example: the same actions as the engine's own tests
(tests/engine/test_examples_cart_document.py) expect, and nothing sent."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Any, cast

import orjson
import pytest

from agents.api.kafka_io import KafkaGateway
from agents.api.routes.trials import _events_from_topic
from agents.kafka_admin import create_topics
from agents.settings import Settings
from engine.durations import HOUR
from tests.agents.api.fixtures import ApiWorker, example_definition
from tests.agents.fixtures import produce, read_actions, wait_processed

pytestmark = pytest.mark.kafka
T0 = 1_767_261_600_000  # as in tests/engine/fixtures.py
EXPECTED_NO_PURCHASE = [("reminder", "send_email", 2 * HOUR), ("discount", "send_email", 26 * HOUR),
                        ("notify_sales", "notify", 50 * HOUR)]  # fmt: skip


def sent(actions: list[dict[str, Any]], contact: str, start: int) -> list[tuple[str, str, int]]:
    return [(a["node_id"], a["type"], a["ts"] - start) for a in actions if a["contact_id"] == contact]


def test_simulate_the_cart_example_for_sample_contacts(api_worker: ApiWorker) -> None:
    script = {
        "definition": example_definition("abandoned_cart"),
        "start": T0,
        "horizon": "60h",
        "contacts": [
            {"contact_id": "ada", "events": [
                {"type": "contact.added", "properties": {"first_name": "Ada", "email": "ada@example.com"}},
                {"type": "cart.created", "properties": {"cart_id": "k1", "value": 120}},
            ]},
            {"contact_id": "bob", "events": [
                {"type": "cart.created", "properties": {"cart_id": "k2"}},
                {"type": "purchase", "after": "5h", "properties": {"cart_id": "k2", "amount": 120}},
            ]},
        ],
    }  # fmt: skip
    status, result = api_worker.client.call("POST", "/v1/workflows/abandoned_cart/simulate", script)
    assert status == 200
    assert sent(result["actions"], "ada", T0) == EXPECTED_NO_PURCHASE
    assert sent(result["actions"], "bob", T0) == [("reminder", "send_email", 2 * HOUR)]
    reminder = result["actions"][0]
    assert reminder["params"] == {"template": "cart_reminder", "cart_id": "k1", "to": "ada@example.com",
                                  "subject": "Ada, you left something in your cart"}  # fmt: skip
    ada, bob = result["contacts"]
    assert [(t["node_id"], t["kind"], t["due"] - T0) for t in ada["timers"]] == [
        ("wait_2h", "wait", 2 * HOUR), ("wait_purchase", "timeout", 26 * HOUR),
        ("wait_purchase_2", "timeout", 50 * HOUR),
    ]  # fmt: skip
    assert ada["live_runs"] == [] and ada["trace"][-1]["transition"] == "exited"
    assert ("purchased", "goal") in [(e["node_id"], e["transition"]) for e in bob["trace"]]
    assert result["node_counts"]["reminder"]["acted"] == 2
    assert result["node_counts"]["purchased"]["goal"] == 1


def test_simulate_refuses_bad_scripts_and_invalid_definitions(api_worker: ApiWorker) -> None:
    client = api_worker.client
    cart = example_definition("abandoned_cart")
    assert client.call("POST", "/v1/workflows/x/simulate", {"definition": cart})[1]["error"] == "bad_script"
    bad_time = {
        "definition": cart,
        "contacts": [{"contact_id": "a", "events": [{"type": "x", "after": "soon"}]}],
    }
    assert client.call("POST", "/v1/workflows/x/simulate", bad_time)[0] == 400
    broken = {**cart, "start": "nowhere"}
    status, body = client.call("POST", "/v1/workflows/x/simulate", {"definition": broken, "contacts": [
        {"contact_id": "a", "events": [{"type": "cart.created"}]}]})  # fmt: skip
    assert status == 422 and body["details"]["valid"] is False
    assert client.call("POST", "/v1/workflows/unknown/simulate", {"contacts": []})[0] in (400, 404)


def test_backtest_a_draft_over_recorded_events_sends_nothing(api_worker: ApiWorker) -> None:
    client = api_worker.client
    draft = {**example_definition("abandoned_cart"), "id": "cart_bt"}
    draft.pop("status")
    assert client.call("POST", "/v1/workflows", draft)[0] == 201
    start = int(time.time() * 1000) - 4 * 24 * HOUR  # all three waits are over by now
    events = [
        {"event_id": "bt-1", "contact_id": "bt-ada", "type": "contact.added", "ts": start,
         "properties": {"first_name": "Ada", "email": "ada@example.com"}},
        {"event_id": "bt-2", "contact_id": "bt-ada", "type": "cart.created", "ts": start,
         "properties": {"cart_id": "k1", "value": 120}},
        {"event_id": "bt-3", "contact_id": "bt-bob", "type": "cart.created", "ts": start,
         "properties": {"cart_id": "k9"}},
        {"event_id": "bt-4", "contact_id": "bt-bob", "type": "purchase", "ts": start + 30 * HOUR,
         "properties": {"cart_id": "k9"}},
        {"event_id": "bt-old", "contact_id": "bt-old", "type": "cart.created", "ts": start - 20 * 24 * HOUR,
         "properties": {"cart_id": "k0"}},
    ]  # fmt: skip
    assert client.call("POST", "/v1/events", events)[0] == 202
    wait_processed(api_worker.settings)
    status, result = client.call("POST", "/v1/workflows/cart_bt/backtest", {"days": 7})
    assert status == 200 and result["source"] == "kafka"  # this worker has no analytics endpoint
    assert sent(result["actions"], "bt-ada", start) == EXPECTED_NO_PURCHASE
    assert sent(result["actions"], "bt-bob", start) == [("reminder", "send_email", 2 * HOUR),
                                                        ("discount", "send_email", 26 * HOUR)]  # fmt: skip
    assert "bt-old" not in {c["contact_id"] for c in result["contacts"]}  # older than 7 days
    assert (
        result["node_counts"]["discount"]["acted"] == 2
        and result["node_counts"]["notify_sales"]["acted"] == 1
    )
    assert read_actions(api_worker.settings, expect=1, timeout=3) == []  # a draft: nothing really sent
    assert client.call("POST", "/v1/workflows/cart_bt/backtest", {"days": 0})[1]["error"] == "bad_days"


def test_recorded_events_from_the_topic_stop_one_past_the_cap(test_settings: Settings) -> None:
    """Without an analytics endpoint a backtest reads the `events` topic: it stops at one event more than
    the trial cap (enough for the trial to refuse), not at the topic's end."""
    topic = test_settings.topic("events")
    now = int(time.time() * 1000)
    docs = [{"event_id": f"e{n}", "contact_id": f"c{n % 5}", "type": "page.viewed", "ts": now - 1000 + n,
             "properties": {}} for n in range(30_000)]  # fmt: skip
    records = [(str(doc["contact_id"]).encode(), orjson.dumps(doc)) for doc in docs]

    async def scenario() -> tuple[int, int]:
        await create_topics(test_settings.bootstrap, [topic], 1)
        await produce(test_settings.bootstrap, topic, records)
        kafka = KafkaGateway(test_settings.bootstrap)
        ctx = SimpleNamespace(kafka=kafka, events_topic=topic, max_event_bytes=65536, clock=lambda: now)
        try:
            capped = await _events_from_topic(cast(Any, ctx), now - 60_000, 3)
            every = await _events_from_topic(cast(Any, ctx), now - 60_000, 100_000)
        finally:
            await kafka.stop()
        return len(capped), len(every)

    capped, every = asyncio.run(scenario())
    assert every == 30_000 and 4 <= capped <= 20_000  # whole fetches (up to 1 MB each): stops after the first
