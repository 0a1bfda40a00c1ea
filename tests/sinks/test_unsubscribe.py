"""One-click unsubscribe end to end, against a real worker, the email sink and an aiosmtpd server: the
marketing email carries a signed List-Unsubscribe link with List-Unsubscribe-Post; posting to it as a mail
provider does stops the next marketing email in every workflow, while a transactional one still goes."""

from __future__ import annotations

import asyncio
import re
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from engine.links import unsubscribe_token
from sinks.settings import SinkSettings
from tests.agents.api.fixtures import ApiWorker, api_settings, start_api_worker
from tests.agents.fixtures import wait_processed
from tests.sinks.fixtures import Mailbox, running_sinks, smtp_server, smtp_settings

pytestmark = pytest.mark.kafka
SECRET = "unsubscribe-secret-for-tests"


def email_workflow(workflow_id: str, trigger: str, **params: str) -> dict[str, Any]:
    node = {"type": "action", "action": "send_email", "params": params}
    return {"id": workflow_id, "name": workflow_id, "trigger": {"event": trigger},
            "settings": {"reentry": "always"}, "start": "send", "nodes": {"send": node}}  # fmt: skip


NEWS = email_workflow("newsletter", "news.go", subject="News", text="This week...")
RECEIPT = email_workflow("receipt", "purchase", subject="Receipt", text="Thanks", category="transactional")


def post_form(url: str, body: bytes) -> int:
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


async def until(condition: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.2)


async def send(worker: ApiWorker, *events: dict[str, Any]) -> None:
    status, _ = await asyncio.to_thread(worker.client.call, "POST", "/v1/events", list(events))
    assert status == 202


async def test_one_click_unsubscribe_stops_marketing_but_not_transactional(
    kafka_bootstrap: str, tmp_path: Path, sink_settings: SinkSettings
) -> None:
    settings = api_settings(kafka_bootstrap, tmp_path / "worker")
    env = {"SWITCHYARD_UNSUBSCRIBE_SECRET": SECRET}
    worker = await asyncio.to_thread(start_api_worker, settings, tmp_path / "worker.log", env)
    try:
        for definition in (NEWS, RECEIPT):
            wid = definition["id"]
            assert worker.client.call("POST", "/v1/workflows", definition)[0] == 201
            assert worker.client.call("POST", f"/v1/workflows/{wid}/publish", {"note": "test"})[0] == 200
        link = f"http://127.0.0.1:{settings.web_port}/v1/unsubscribe?c={{contact_id}}&ch=email&t={{token}}"
        now = int(time.time() * 1000)

        def event(event_id: str, etype: str, ago_ms: int, **props: Any) -> dict[str, Any]:
            return {
                "event_id": event_id,
                "contact_id": "ann",
                "type": etype,
                "ts": now - ago_ms,
                "properties": props,
            }

        async with smtp_server(Mailbox()) as (mailbox, port):
            sinks = sink_settings.with_(
                smtp=smtp_settings(port), unsubscribe_url=link, unsubscribe_secret=SECRET,
                topic_prefix=settings.topic_prefix, app_id=settings.app_id,
            )  # fmt: skip
            async with running_sinks(sinks, ["email"]):
                await send(worker, event("u1", "contact.added", 50_000, email="ann@example.com"),
                           event("u2", "news.go", 40_000))  # fmt: skip
                await until(lambda: len(mailbox.messages) == 1)
                first = mailbox.messages[0]
                assert first["Subject"] == "News"
                assert first["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
                header = first["List-Unsubscribe"]
                found = re.search(r"<(http://[^>]+)>", re.sub(r"\s+", "", header))
                assert found is not None, header
                url = found.group(1)
                assert unsubscribe_token(SECRET, "ann", "email") in url.replace("%3D", "=")

                assert post_form(url.replace("ann", "bob"), b"List-Unsubscribe=One-Click") == 403  # not bob's
                assert post_form(url, b"something=else") == 400
                assert post_form(url, b"List-Unsubscribe=One-Click") == 200
                await asyncio.to_thread(wait_processed, settings)

                await send(worker, event("u3", "news.go", 20_000), event("u4", "purchase", 10_000))
                await until(lambda: len(mailbox.messages) == 2)
                await asyncio.to_thread(wait_processed, settings)
                await asyncio.sleep(1.0)  # a second marketing email would have had time to arrive
                assert [m["Subject"] for m in mailbox.messages] == ["News", "Receipt"]
                assert mailbox.messages[1]["List-Unsubscribe"] is None  # transactional: no unsubscribe link
        _, contact = worker.client.call("GET", "/v1/contacts/ann")
        assert [s["reason"] for s in contact["trace"] if s["transition"] == "suppressed"] == [
            "consent: email unsubscribed"
        ]
    finally:
        worker.process.stop()


async def test_the_sink_checks_consent_again_before_delivery(
    kafka_bootstrap: str, tmp_path: Path, sink_settings: SinkSettings
) -> None:
    """The engine sent while the contact was subscribed; the unsubscribe arrives while the email waits in
    the sink's backlog. The sink reads the consent the worker published and does not deliver it (outcome
    `email.suppressed`), while the transactional email of the same backlog still goes."""
    settings = api_settings(kafka_bootstrap, tmp_path / "worker")
    worker = await asyncio.to_thread(start_api_worker, settings, tmp_path / "worker.log")
    try:
        for definition in (NEWS, RECEIPT):
            wid = definition["id"]
            assert worker.client.call("POST", "/v1/workflows", definition)[0] == 201
            assert worker.client.call("POST", f"/v1/workflows/{wid}/publish", {"note": "test"})[0] == 200
        now = int(time.time() * 1000)

        def event(event_id: str, etype: str, ago_ms: int, **props: Any) -> dict[str, Any]:
            return {"event_id": event_id, "contact_id": "cy", "type": etype, "ts": now - ago_ms,
                    "properties": props}  # fmt: skip

        await send(worker, event("r1", "contact.added", 50_000, email="cy@example.com"),
                   event("r2", "news.go", 40_000), event("r3", "purchase", 35_000))  # fmt: skip
        await asyncio.to_thread(wait_processed, settings)  # both emails are in actions.email, undelivered
        await send(worker, event("r4", "unsubscribed", 30_000, channel="email"))
        await asyncio.to_thread(wait_processed, settings)  # the consent record is published

        async with smtp_server(Mailbox()) as (mailbox, port):
            sinks = sink_settings.with_(
                smtp=smtp_settings(port), topic_prefix=settings.topic_prefix, app_id=settings.app_id
            )
            async with running_sinks(sinks, ["email"]):
                await until(lambda: len(mailbox.messages) == 1)
                await until(lambda: bool(worker.client.call("GET", "/v1/contacts/cy")[1]["profile"]["counts"]
                                         .get("email.suppressed")))  # fmt: skip
                await asyncio.sleep(1.0)
                assert [m["Subject"] for m in mailbox.messages] == ["Receipt"]
        _, contact = worker.client.call("GET", "/v1/contacts/cy")
        counts = contact["profile"]["counts"]
        assert counts.get("email.suppressed") == 1 and counts.get("email.sent") == 1
    finally:
        worker.process.stop()
