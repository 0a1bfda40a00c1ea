"""SMTP sessions against a real aiosmtpd server on loopback (no broker): a refused session (EHLO, login)
is the operator's problem and never a recipient's bounce, a failed login is tried again on a new
connection, and a notification's refused team address is the notification's failure, not the contact's
bounce."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from sinks.email_message import build_email
from sinks.email_sink import single_address
from sinks.exceptions import PermanentFailure
from sinks.notify_sink import NotifyHandler
from sinks.records import parse_action
from sinks.settings import SinkSettings, SmtpSettings
from sinks.smtp_pool import SmtpPool


class Server:
    """Refuses EHLO and HELO while ``refuse_greeting``; refuses the first ``failed_logins`` logins."""

    def __init__(self, refuse_greeting: bool = False, failed_logins: int = 0) -> None:
        self.refuse_greeting = refuse_greeting
        self.failed_logins = failed_logins  # sessions whose every login attempt is refused
        self.sessions: list[int] = []  # the sessions that tried to log in, in order
        self.delivered: list[list[str]] = []

    async def handle_EHLO(self, server: SMTP, session: Session, envelope: Envelope, hostname: str,
                          responses: list[str]) -> list[str]:  # fmt: skip
        if self.refuse_greeting:
            return ["554 5.7.1 your address is listed at a blocklist"]
        session.host_name = hostname
        return responses

    async def handle_HELO(self, server: SMTP, session: Session, envelope: Envelope, hostname: str) -> str:
        return "554 5.7.1 your address is listed at a blocklist" if self.refuse_greeting else "250 hello"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.delivered.append(list(envelope.rcpt_tos))
        return "250 OK"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        if id(session) not in self.sessions:  # the client tries each mechanism the server offers
            self.sessions.append(id(session))
        ok = isinstance(data, LoginPassword) and self.sessions.index(id(session)) >= self.failed_logins
        return AuthResult(success=ok, handled=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def serving(server: Server) -> Iterator[int]:
    port = free_port()
    controller = Controller(server, hostname="127.0.0.1", port=port, authenticator=server.authenticate,
                            auth_require_tls=False)  # fmt: skip
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def message(to: str = "ada@example.com") -> Any:
    return build_email(action_id="a1", contact_id="c1", sender="switchyard@example.com", recipient=to,
                       subject="Hello\nthere", text="hi", html=None, unsubscribe_url=None)  # fmt: skip


def send_twice(settings: SmtpSettings) -> list[BaseException | str]:
    async def run() -> list[BaseException | str]:
        pool = SmtpPool(settings)
        results: list[BaseException | str] = []
        for _ in range(2):
            try:
                results.append(await pool.send(message()))
            except Exception as exc:
                results.append(exc)
        await pool.close()
        return results

    return asyncio.run(run())


def test_a_refused_greeting_is_the_operators_problem_not_a_bounce() -> None:
    for port in serving(Server(refuse_greeting=True)):
        first, _ = send_twice(SmtpSettings("127.0.0.1", port, connections=1))
        assert isinstance(first, PermanentFailure)
        assert first.outcome is None and first.dead_letter and first.details["smtp_code"] == 554


def test_a_failed_login_is_made_again_on_a_new_connection() -> None:
    server = Server(failed_logins=1)
    for port in serving(server):
        settings = SmtpSettings(
            "127.0.0.1", port, user="u", password="p", allow_plain_auth=True, connections=1
        )
        first, second = send_twice(settings)
        assert isinstance(first, PermanentFailure) and first.outcome is None  # 535: ours, not the contact's
        assert (
            isinstance(second, str)
            and len(server.sessions) == 2
            and server.delivered == [["ada@example.com"]]
        )


def test_the_subject_is_one_line() -> None:
    assert message()["Subject"] == "Hello there"


@pytest.mark.parametrize(
    "value", ["a@x.io, b@y.io", "a@x.io\u2028b@y.io", "a@x.io\x0b", "a@x.io\r\nBcc: b@y.io"]
)
def test_one_address_means_one(value: str) -> None:
    with pytest.raises(PermanentFailure):
        single_address(value, "one address")
    assert single_address("Ada <ada@example.com>", "one address") == "ada@example.com"


class Refusing(Server):
    """Refuses one recipient address as unknown."""

    def __init__(self, unknown: str) -> None:
        super().__init__()
        self.unknown = unknown

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:  # fmt: skip
        if address == self.unknown:
            return "550 5.1.1 user unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def notify(settings: SinkSettings, params: dict[str, Any]) -> Any:
    async def run() -> Any:
        handler = NotifyHandler(settings)
        await handler.start()
        try:
            action = parse_action(orjson.dumps({"action_id": "n1", "channel": "notify", "type": "notify",
                                                "contact_id": "customer-42", "params": params}))  # fmt: skip
            return await handler.handle(action, 1)
        except PermanentFailure as exc:
            return exc
        finally:
            await handler.close()

    return asyncio.run(run())


def test_a_refused_team_address_is_the_notifications_failure_not_the_customers_bounce(tmp_path: Path) -> None:
    for port in serving(Refusing("gone@corp.example")):
        settings = SinkSettings("127.0.0.1:1", "app", "", tmp_path, smtp=SmtpSettings("127.0.0.1", port),
                                teams={"sales": ("gone@corp.example",)})  # fmt: skip
        refused = notify(settings, {"team": "sales", "reason": "stale", "message": "Deal stale.\nCall back."})
        assert isinstance(refused, PermanentFailure)
        assert refused.outcome is None and refused.dead_letter  # not email.bounced, which is the customer's
        listed = notify(settings, {"user": "ana@corp.example, attacker@evil.example", "message": "x"})
        assert isinstance(listed, PermanentFailure) and "one name or one address" in listed.message
