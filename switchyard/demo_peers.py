"""Loopback stand-ins for the outside world in the demo: an SMTP server that keeps every message and an
HTTP receiver for webhooks, notifications, CRM write-backs, signature requests and SMS/push providers
that checks each request's signature. Both are real servers on 127.0.0.1; nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from dataclasses import dataclass, field
from email import message_from_bytes
from typing import Any

import orjson
from aiohttp import web
from aiosmtpd.controller import Controller

from sinks.signing import SIGNATURE_HEADER, verify

SECRET = "demo-secret"  # the webhook channel's; every other destination has its own (sinks/signing.py)
DESTINATION_SECRETS = {"notify": "demo-notify-key", "crm": "demo-crm-key", "signature": "demo-sign-key"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Received:
    emails: list[dict[str, str]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    bad_signatures: int = 0


class _MailHandler:
    def __init__(self, received: Received) -> None:
        self.received = received

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content)
        self.received.emails.append({"to": ", ".join(envelope.rcpt_tos), "subject": str(message["Subject"])})
        return "250 OK"


class DemoPeers:
    def __init__(self) -> None:
        self.received = Received()
        self.smtp_port = free_port()
        self.http_port = free_port()
        self._smtp: Controller | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> DemoPeers:
        self._smtp = Controller(_MailHandler(self.received), hostname="127.0.0.1", port=self.smtp_port)
        self._smtp.start()
        ready = threading.Event()
        threading.Thread(target=self._serve_http, args=(ready,), daemon=True).start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self._smtp is not None:
            self._smtp.stop()
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)

    def env(self) -> dict[str, str]:
        """Settings that point every sink at these peers."""
        base = f"http://127.0.0.1:{self.http_port}"
        return {
            "SWITCHYARD_SMTP_HOST": "127.0.0.1",
            "SWITCHYARD_SMTP_PORT": str(self.smtp_port),
            "SWITCHYARD_SMTP_FROM": "journeys@switchyard.example",
            "SWITCHYARD_WEBHOOK_SECRET": SECRET,
            "SWITCHYARD_NOTIFY_SECRET": DESTINATION_SECRETS["notify"],
            "SWITCHYARD_CRM_SECRET": DESTINATION_SECRETS["crm"],
            "SWITCHYARD_SIGNATURE_SECRET": DESTINATION_SECRETS["signature"],
            "SWITCHYARD_WEBHOOK_ALLOW_PRIVATE": "true",  # the demo's receiver is on loopback
            "SWITCHYARD_NOTIFY_VIA": "webhook",
            "SWITCHYARD_NOTIFY_URL": f"{base}/notify",
            "SWITCHYARD_CRM_URL": f"{base}/crm",
            "SWITCHYARD_SIGNATURE_URL": f"{base}/signature",
            "SWITCHYARD_SMS_URL": f"{base}/sms",
            "SWITCHYARD_PUSH_URL": f"{base}/push",
            "SWITCHYARD_TEAMS": "sales=ana,ben;legal=li;success=sam,tom",
        }

    def _serve_http(self, ready: threading.Event) -> None:
        self._loop = asyncio.new_event_loop()
        app = web.Application()
        app.router.add_post("/{kind}", self._receive)
        runner = web.AppRunner(app)
        self._loop.run_until_complete(runner.setup())
        self._loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.http_port).start())
        ready.set()
        self._loop.run_forever()

    async def _receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        kind = request.match_info["kind"]
        secret = DESTINATION_SECRETS.get(kind, SECRET)
        if SIGNATURE_HEADER in request.headers and not verify(secret, body, request.headers):
            self.received.bad_signatures += 1
            return web.Response(status=401)
        self.received.requests.append({"kind": kind, "body": orjson.loads(body or b"{}")})
        return web.json_response({"ok": True})
