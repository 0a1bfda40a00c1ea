"""Contact lookup and workflow stats with events sent through the API, a published workflow, and the
analytics writer running as its own process (its report endpoint feeds /stats), all with a bearer token."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.agents.api.fixtures import (
    ApiWorker,
    example_definition,
    worker_with_analytics,
)
from tests.agents.fixtures import wait_processed
from tests.sinks.analytics.fixtures import WriterProcess, wait_until

pytestmark = pytest.mark.kafka
TOKEN = "s3cret-token"


@pytest.fixture(scope="module")
def with_analytics(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ApiWorker, WriterProcess]]:
    yield from worker_with_analytics(kafka_bootstrap, tmp_path_factory.mktemp("api-stats"), TOKEN)


def test_token_is_required_and_checked(with_analytics: tuple[ApiWorker, WriterProcess]) -> None:
    client = with_analytics[0].client
    for method, path in [("GET", "/v1/workflows"), ("POST", "/v1/events"), ("GET", "/v1/contacts/x"),
                         ("GET", "/v1/workflows/x/stats"), ("POST", "/v1/workflows/x/simulate")]:  # fmt: skip
        status, body = client.call(method, path, {}, token="")
        assert (status, body["error"]) == (401, "unauthorized"), path
        status, body = client.call(method, path, {}, token="wrong")
        assert (status, body["error"]) == (403, "forbidden"), path
    assert client.call("GET", "/v1/openapi.json", token="")[0] == 401  # every route but /healthz is locked
    assert client.call("GET", "/v1/workflows")[0] == 200


def test_contact_and_stats_follow_real_traffic(with_analytics: tuple[ApiWorker, WriterProcess]) -> None:
    worker, writer = with_analytics
    client = worker.client
    assert client.call("POST", "/v1/workflows", example_definition("abandoned_cart"))[0] == 201
    assert client.call("POST", "/v1/workflows/abandoned_cart/publish", {"note": "seed"})[0] == 200
    status, stats = client.call("GET", "/v1/workflows/abandoned_cart/stats")
    assert status == 200 and stats["entered"] == 0 and stats["nodes"] == {}

    now = int(time.time() * 1000)
    events = [{"event_id": f"s-{c}", "contact_id": c, "type": "cart.created", "ts": now - 60_000,
               "properties": {"cart_id": f"k-{c}"}} for c in ("ann", "ben", "cat")]  # fmt: skip
    events.append({"event_id": "s-buy", "contact_id": "cat", "type": "purchase", "ts": now - 30_000,
                   "properties": {"cart_id": "k-cat"}})  # fmt: skip
    assert client.call("POST", "/v1/events", events)[0] == 202
    wait_processed(worker.settings)

    status, ann = client.call("GET", "/v1/contacts/ann")
    assert status == 200 and ann["found"] and ann["source"].startswith("changelog:")
    assert [(r["workflow_id"], r["node"]) for r in ann["runs"]] == [("abandoned_cart", "wait_2h")]
    assert ann["runs"][0]["waiting"]["kind"] == "wait"
    assert [s["transition"] for s in ann["trace"]] == ["entered", "waited"]
    assert ann["profile"]["counts"] == {"cart.created": 1}
    status, cat = client.call("GET", "/v1/contacts/cat")
    assert cat["runs"] == [] and cat["trace"][-1]["transition"] == "goal"
    status, nobody = client.call("GET", "/v1/contacts/nobody")
    assert status == 200 and nobody["found"] is False and nobody["runs"] == []

    def counted() -> bool:
        stats.update(client.call("GET", "/v1/workflows/abandoned_cart/stats")[1])
        return bool(stats["entered"] == 3 and stats["goals"] == 1)

    wait_until(counted, 60, lambda: f"{stats}\n{writer.log_tail()}")
    assert stats["nodes"]["wait_2h"]["live"] == 2 and stats["nodes"]["wait_2h"]["reached"] == 3
    assert stats["conversion"] == pytest.approx(1 / 3)
    assert client.call("GET", "/v1/workflows/abandoned_cart/stats?days=zero")[0] == 400


def test_stats_without_an_analytics_endpoint_is_503(api_worker: ApiWorker) -> None:
    status, body = api_worker.client.call("GET", "/v1/workflows/any/stats")
    assert status == 503 and body["error"] == "analytics_unavailable"
