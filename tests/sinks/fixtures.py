"""Fixtures for sink tests: real peers on loopback (an aiohttp receiver, an aiosmtpd server), the sinks
running in-process or as a child process, and helpers to produce actions and read outcomes back."""

from __future__ import annotations

import asyncio
import base64
import random
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from agents.settings import Settings
from sinks.channels import DLQ_TOPIC, EVENTS_TOPIC, TASKS_TOPIC, action_topic
from sinks.service import SinkService
from sinks.settings import RetryPolicy, SinkSettings, SmtpSettings, WebhookSettings

REPO = Path(__file__).resolve().parents[2]
# Standard Webhooks secrets: whsec_ + base64 of the key (fixed test keys, 32 bytes each).
SECRET = "whsec_" + base64.b64encode(b"switchyard-test-webhook-key-0001").decode()
OLD_SECRET = "whsec_" + base64.b64encode(b"switchyard-test-webhook-key-0000").decode()
CRM_SECRET = "whsec_" + base64.b64encode(b"switchyard-test-crm-key-00000001").decode()
NOTIFY_SECRET = "whsec_" + base64.b64encode(b"switchyard-test-notify-key-00001").decode()
SIGNATURE_SECRET = "whsec_" + base64.b64encode(b"switchyard-test-sign-key-0000001").decode()


# -- settings ----------------------------------------------------------------------------------------


@pytest.fixture
def sink_settings(test_settings: Settings, tmp_path: Path) -> SinkSettings:
    """Fast retries, loopback targets allowed, a templates dir of the test's own."""
    templates = tmp_path / "templates"
    templates.mkdir()
    return SinkSettings(
        bootstrap=test_settings.bootstrap,
        app_id=test_settings.app_id,
        topic_prefix=test_settings.topic_prefix,
        data_dir=test_settings.data_dir,
        retry=RetryPolicy(max_attempts=4, base_delay_s=0.02, max_delay_s=0.1, max_retry_after_s=0.5),
        in_flight_per_partition=8,
        commit_interval_s=0.1,
        session_timeout_s=test_settings.session_timeout_s,
        webhook=WebhookSettings(secret=SECRET, allow_private=True, connect_timeout_s=2, total_timeout_s=3),
        templates_dir=templates,
        crm_secret=CRM_SECRET,
        notify_secret=NOTIFY_SECRET,
        signature_secret=SIGNATURE_SECRET,
    )


# -- the webhook receiver --------------------------------------------------------------------------


@dataclass
class Receiver:
    """An HTTP endpoint that verifies Standard Webhooks signatures with the `standardwebhooks` package, as
    a receiver would, and dedupes on the signed webhook-id, counting everything."""

    fail_rate: float = 0.0  # probability of answering 503
    always_status: int | None = None  # answer this status to every request
    delay_s: float = 0.0
    signed: bool = True  # check the signature (providers use bearer auth instead)
    secret: str = SECRET  # the destination's secret, as the receiver holds it
    authorization: dict[str, str] = field(default_factory=dict)  # Authorization header per key
    script: list[int] = field(default_factory=list)  # statuses to answer first, in order, with Retry-After: 0
    rng: random.Random = field(default_factory=random.Random)
    delivered: Counter[str] = field(default_factory=Counter)  # first successful request per idempotency key
    repeats: Counter[str] = field(default_factory=Counter)  # requests for keys already delivered (deduped)
    requests: Counter[str] = field(default_factory=Counter)  # every request per idempotency key
    bodies: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, tuple[bytes, dict[str, str]]] = field(default_factory=dict)  # last body, headers per key
    bad_signatures: int = 0
    port: int = 0

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def failures(self) -> int:
        return sum(self.requests.values()) - sum(self.delivered.values()) - sum(self.repeats.values())

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        key = request.headers.get("webhook-id" if self.signed else "Idempotency-Key", "")
        self.requests[key] += 1
        self.authorization[key] = request.headers.get("Authorization", "")
        self.raw[key] = (body, dict(request.headers))
        if self.signed:
            try:
                Webhook(self.secret).verify(body, dict(request.headers))
            except WebhookVerificationError:
                self.bad_signatures += 1
                return web.Response(status=401)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if request.path == "/reject":
            return web.Response(status=422, text="rejected")
        if self.script:
            return web.Response(status=self.script.pop(0), headers={"Retry-After": "0"})
        if self.always_status is not None:
            return web.Response(status=self.always_status, text="no")
        if key in self.delivered:
            self.repeats[key] += 1
            return web.json_response({"ok": True, "duplicate": True})
        if self.rng.random() < self.fail_rate:
            return web.Response(status=503, text="try again")
        self.delivered[key] += 1
        self.bodies[key] = orjson.loads(body)
        return web.json_response({"ok": True, "id": f"msg-{key}"})


@asynccontextmanager
async def serving(receiver: Receiver) -> AsyncIterator[Receiver]:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    receiver.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield receiver
    finally:
        await runner.cleanup()


# -- the SMTP server ---------------------------------------------------------------------------------


@dataclass
class Mailbox:
    """An aiosmtpd handler that keeps every message; recipients can be made to fail."""

    messages: list[Message] = field(default_factory=list)
    reject: dict[str, str] = field(default_factory=dict)  # recipient -> SMTP reply (e.g. "550 no such user")
    rcpt_seen: list[str] = field(default_factory=list)  # every RCPT TO address, in order

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        self.rcpt_seen.append(address)
        if address in self.reject:
            return self.reject[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        self.messages.append(message_from_bytes(content))
        return "250 Message accepted"


@asynccontextmanager
async def smtp_server(mailbox: Mailbox) -> AsyncIterator[tuple[Mailbox, int]]:
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    await asyncio.to_thread(controller.start)
    try:
        yield mailbox, port
    finally:
        await asyncio.to_thread(controller.stop)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def smtp_settings(port: int) -> SmtpSettings:
    return SmtpSettings(
        host="127.0.0.1", port=port, sender="journeys@example.com", timeout_s=5, connections=2
    )


# -- running the sinks ------------------------------------------------------------------------------


@asynccontextmanager
async def running_sinks(settings: SinkSettings, channels: Iterable[str]) -> AsyncIterator[SinkService]:
    """The sink service in this process, for as long as the block runs."""
    channels = list(channels)
    await ensure_topics(settings, channels)
    service = SinkService(settings, channels, strict=True)
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    deadline = time.monotonic() + 30
    while not (service.runners and all(r.ready.is_set() for r in service.runners.values())):
        if task.done():
            task.result()
        assert time.monotonic() < deadline, "sinks did not start"
        await asyncio.sleep(0.05)
    try:
        yield service
    finally:
        stop.set()
        await task


async def ensure_topics(settings: SinkSettings, channels: Iterable[str], partitions: int = 4) -> None:
    from agents.kafka_admin import create_topics

    names = [EVENTS_TOPIC, DLQ_TOPIC, *map(action_topic, channels)]
    await create_topics(settings.bootstrap, [settings.topic(n) for n in names], partitions)
    await create_topics(settings.bootstrap, [settings.topic(TASKS_TOPIC)], partitions, compact=True)


# -- actions in, outcomes out -----------------------------------------------------------------------


def action(
    channel: str, action_type: str, n: int, contact: str | None = None, **params: Any
) -> dict[str, Any]:
    return {
        "action_id": f"a-{channel}-{n}",
        "channel": channel,
        "type": action_type,
        "contact_id": contact or f"c-{n}",
        "workflow_id": "wf",
        "version": 1,
        "run_id": f"run-{n}",
        "node_id": "node",
        "ts": 1_700_000_000_000 + n,
        "params": params,
    }


async def produce_actions(settings: SinkSettings, channel: str, actions: Iterable[dict[str, Any]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap, linger_ms=2)
    await producer.start()
    try:
        for item in actions:
            await producer.send(
                settings.topic(action_topic(channel)),
                value=orjson.dumps(item),
                key=item["contact_id"].encode(),
            )
        await producer.flush()
    finally:
        await producer.stop()


async def read_json(
    settings: SinkSettings, topic: str, done: Callable[[list[dict[str, Any]]], bool], timeout: float = 30.0
) -> list[dict[str, Any]]:
    """Values of ``topic`` (without prefix) from the start, once ``done(values)`` holds or the timeout."""
    consumer = AIOKafkaConsumer(
        settings.topic(topic),
        bootstrap_servers=settings.bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        metadata_max_age_ms=500,
    )
    await consumer.start()
    out: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    try:
        while not done(out) and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                out.extend(
                    {"key": r.key.decode() if r.key else None, **orjson.loads(r.value)} for r in records
                )
    finally:
        await consumer.stop()
    return out


def at_least(n: int, event_type: str | None = None) -> Callable[[list[dict[str, Any]]], bool]:
    def done(values: list[dict[str, Any]]) -> bool:
        return sum(1 for v in values if event_type is None or v.get("type") == event_type) >= n

    return done


async def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)
