"""The one door, tried as an attacker would, against a running worker with a token: Faust's own views are
not served, every /v1 route needs the token, cross-site writes and foreign hosts are refused, system event
types cannot be forged, simulate refuses an unbounded horizon, and a long backtest does not hold up event
processing."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from agents.api.http import self_authenticated
from agents.kafka_admin import group_lag
from tests.agents.api.fixtures import OPENAPI, ApiWorker, api_settings, start_api_worker
from tests.agents.fixtures import produce, wait_processed

pytestmark = pytest.mark.kafka
TOKEN = "door-token"
DAY_MS = 86_400_000


@pytest.fixture(scope="module")
def locked(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiWorker]:
    tmp = tmp_path_factory.mktemp("api-security")
    env = {"SWITCHYARD_API_TOKEN": TOKEN, "SWITCHYARD_TRIAL_WALL_TIME": "90",
           "SWITCHYARD_TRIAL_MAX_ACTIONS": "1000000", "SWITCHYARD_TRIAL_MAX_STEPS": "1000000"}  # fmt: skip
    worker = start_api_worker(api_settings(kafka_bootstrap, tmp / "data"), tmp / "worker.log", env)
    yield worker
    worker.process.stop()


def raw(worker: ApiWorker, method: str, path: str, body: bytes | None = None,
        headers: dict[str, str] | None = None, timeout: float = 60) -> tuple[int, Any]:  # fmt: skip
    """One request as an attacker would send it: only the headers given (urllib adds Host itself)."""
    request = urllib.request.Request(worker.client.base + path, data=body, method=method)
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, payload = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, payload = exc.code, exc.read()
    try:
        return status, json.loads(payload)
    except ValueError:
        return status, payload


AUTH = {"Authorization": f"Bearer {TOKEN}"}
JSON = {"Content-Type": "application/json"}


def test_faust_table_and_router_views_are_not_served(locked: ApiWorker) -> None:
    for path in ("/table/contacts/c1/", "/table/", "/router/", "/router/contacts/c1/", "/graph/", "/stats/"):
        assert raw(locked, "GET", path)[0] == 401, path  # the door stands before every path
        status, body = raw(locked, "GET", path, headers=AUTH)
        assert status == 404, (path, body)  # and behind it nothing answers


def test_every_v1_route_needs_the_token(locked: ApiWorker) -> None:
    checked = 0
    for template, item in OPENAPI["paths"].items():
        path = re.sub(r"\{[^}]+\}", "x", template)
        if self_authenticated(path) is not None:
            continue  # these check their own credential (tests of those routes)
        for method in item:
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            body = b"{}" if method != "get" else None
            status, answer = raw(locked, method.upper(), path, body, JSON if body else {})
            assert (status, answer["error"]) == (401, "unauthorized"), (method, path)
            status, answer = raw(locked, method.upper(), path, body,
                                 {**(JSON if body else {}), "Authorization": "Bearer wrong"})  # fmt: skip
            assert (status, answer["error"]) == (403, "forbidden"), (method, path)
            checked += 1
    assert checked >= 15
    assert raw(locked, "GET", "/metrics")[0] == 401  # not public unless SWITCHYARD_METRICS_PUBLIC=on
    assert raw(locked, "GET", "/metrics", headers=AUTH)[0] == 200
    assert raw(locked, "GET", "/healthz") == (200, {"status": "ok"})
    assert raw(locked, "GET", "/ui/")[0] in (200, 404)  # the builder's files need no token; its calls do


def test_cross_site_writes_and_foreign_hosts_are_refused(locked: ApiWorker) -> None:
    event = {"event_id": "x-1", "contact_id": "c1", "type": "page.viewed", "ts": int(time.time() * 1000)}
    body = orjson.dumps(event)
    status, answer = raw(locked, "POST", "/v1/events", body, {**AUTH, "Content-Type": "text/plain"})
    assert (status, answer["error"]) == (415, "bad_content_type")
    status, answer = raw(locked, "POST", "/v1/events", body, AUTH)  # urllib's default is a form type
    assert (status, answer["error"]) == (415, "bad_content_type")
    status, answer = raw(
        locked, "POST", "/v1/events", body, {**AUTH, **JSON, "Origin": "https://evil.example"}
    )
    assert (status, answer["error"]) == (403, "bad_origin")
    status, answer = raw(locked, "POST", "/v1/events", body, {**AUTH, **JSON, "Origin": "null"})
    assert (status, answer["error"]) == (403, "bad_origin")
    status, answer = raw(locked, "GET", "/v1/workflows", headers={**AUTH, "Host": "rebind.evil.example"})
    assert (status, answer["error"]) == (421, "bad_host")
    own_origin = f"http://127.0.0.1:{locked.settings.web_port}"
    status, answer = raw(locked, "POST", "/v1/events", body, {**AUTH, **JSON, "Origin": own_origin})
    assert status == 202, answer  # the builder, served from here, may write
    status, answer = raw(locked, "POST", "/v1/events", b"x" * 2_000_000, {**AUTH, **JSON})
    assert (status, answer["error"]) == (413, "too_large")


def test_system_event_types_are_refused_at_public_ingest(locked: ApiWorker) -> None:
    now = int(time.time() * 1000)
    for etype, named in (("timer.fired", "'timer.'"), ("predicted.churn", "'predicted.'"),
                         ("email.sent", "'email.sent'")):  # fmt: skip
        event = {"event_id": f"forged-{etype}", "contact_id": "c1", "type": etype, "ts": now,
                 "properties": {"token": "t"}}  # fmt: skip
        status, answer = raw(locked, "POST", "/v1/events", orjson.dumps(event), {**AUTH, **JSON})
        assert status == 400 and answer["error"] == "invalid_events", answer
        (problem,) = answer["details"]
        assert problem["reason"] == "reserved_type" and named in problem["detail"], problem


MINUTELY = {
    "id": "minutely", "name": "minutely", "version": 1, "trigger": {"schedule": "* * * * *"},
    "settings": {"reentry": "always"}, "start": "a",
    "nodes": {"a": {"type": "action", "action": "send_email", "params": {"template": "x"}}},
}  # fmt: skip


def test_simulate_refuses_an_unbounded_horizon(locked: ApiWorker) -> None:
    script = {"definition": MINUTELY, "horizon": "100w",
              "contacts": [{"contact_id": "c1", "events": [{"type": "contact.added"}]}]}  # fmt: skip
    status, answer = raw(
        locked, "POST", "/v1/workflows/minutely/simulate", orjson.dumps(script), {**AUTH, **JSON}
    )
    assert status == 400 and answer["error"] == "trial_limit", answer
    assert answer["details"] == {"limit": "max_horizon_ms"} and "700 days" in answer["message"]
    assert "max_horizon_ms=7776000000" in answer["message"]
    many = {
        **script,
        "horizon": "1d",
        "contacts": [{"contact_id": f"c{i}", "events": []} for i in range(1001)],
    }
    status, answer = raw(
        locked, "POST", "/v1/workflows/minutely/simulate", orjson.dumps(many), {**AUTH, **JSON}
    )
    assert status == 400 and answer["details"] == {"limit": "max_contacts"}, answer


def test_a_long_backtest_does_not_delay_event_processing(locked: ApiWorker) -> None:
    settings = locked.settings
    now = int(time.time() * 1000)
    # One recorded contact 29 days back: the minute cron wakes it ~41,000 times in the backtest.
    seed = {"event_id": "bt-seed", "contact_id": "bt", "type": "contact.added", "ts": now - 29 * DAY_MS}
    status, answer = raw(locked, "POST", "/v1/events", orjson.dumps(seed), {**AUTH, **JSON})
    assert status == 202, answer
    wait_processed(settings)

    result: dict[str, Any] = {}

    def backtest() -> None:
        started = time.monotonic()
        body = orjson.dumps({"days": 30, "definition": MINUTELY})
        result["answer"] = raw(locked, "POST", "/v1/workflows/minutely/backtest", body, {**AUTH, **JSON}, 120)
        result["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=backtest)
    thread.start()
    lags = asyncio.run(_feed_and_sample(settings, thread))
    thread.join()
    status, answer = result["answer"]
    assert status == 200, answer
    assert len(answer["actions"]) > 40_000  # the backtest did its work: one send per minute for 29 days
    assert result["seconds"] > 2.0, result["seconds"]  # long enough for the lag samples to mean something
    # 40 events every 0.5 s: a worker stalled for the backtest's duration would be hundreds behind.
    assert len(lags) >= 4 and max(lags) <= 160, (result["seconds"], lags)


async def _feed_and_sample(settings: Any, thread: threading.Thread) -> list[int]:
    lags: list[int] = []
    sent = 0
    while thread.is_alive():
        records = []
        for _ in range(40):
            sent += 1
            contact = f"live-{sent % 50}"
            doc = {"event_id": f"live-{sent}", "contact_id": contact, "type": "page.viewed",
                   "ts": int(time.time() * 1000), "properties": {}}  # fmt: skip
            records.append((contact.encode(), orjson.dumps(doc)))
        await produce(settings.bootstrap, settings.topic("events"), records)
        await asyncio.sleep(0.5)
        lags.append(await group_lag(settings.bootstrap, settings.app_id, settings.topic("events")))
    return lags
