"""The email channel against a real aiosmtpd server: MIME structure, templates, bounces and retries."""

from __future__ import annotations

from email.message import Message

import pytest

from sinks.settings import SinkSettings
from tests.sinks.fixtures import (
    Mailbox,
    action,
    at_least,
    produce_actions,
    read_json,
    running_sinks,
    smtp_server,
    smtp_settings,
)

pytestmark = pytest.mark.kafka


def parts_of(message: Message) -> dict[str, str]:
    """Content type -> decoded text of each part (line endings as written)."""
    out = {}
    for part in message.get_payload():
        assert isinstance(part, Message)
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        out[part.get_content_type()] = payload.decode().replace("\r\n", "\n")
    return out


def write_templates(settings: SinkSettings) -> None:
    (settings.templates_dir / "welcome.txt").write_text(
        "Hi {{ params.first_name }}, welcome to {{ params.plan }}.\n"
    )
    (settings.templates_dir / "welcome.html").write_text("<p>Hi <b>{{ params.first_name }}</b></p>\n")
    (settings.templates_dir / "only_html.html").write_text("<h1>Deal</h1><p>Order {{ params.order_id }}</p>")


async def test_email_is_a_real_multipart_message_and_reports_sent(sink_settings: SinkSettings) -> None:
    write_templates(sink_settings)
    async with smtp_server(Mailbox()) as (mailbox, port):
        settings = sink_settings.with_(
            smtp=smtp_settings(port), unsubscribe_url="https://example.com/u?c={contact_id}"
        )
        async with running_sinks(settings, ["email"]):
            await produce_actions(
                settings,
                "email",
                [
                    action(
                        "email",
                        "send_email",
                        1,
                        to="ana@example.com",
                        template="welcome",
                        subject="Welcome Ana",
                        first_name="Ana <3",
                        plan="Pro",
                    ),
                    action(
                        "email",
                        "send_email",
                        2,
                        to="ben@example.com",
                        template="only_html",
                        subject="Your order",
                        order_id="o-9",
                    ),
                ],
            )
            events = await read_json(settings, "events", at_least(2, "email.sent"))
    by_to = {m["To"]: m for m in mailbox.messages}
    ana = by_to["ana@example.com"]
    assert ana.get_content_type() == "multipart/alternative"
    parts = parts_of(ana)
    assert parts["text/plain"] == "Hi Ana <3, welcome to Pro.\n"
    assert parts["text/html"] == "<p>Hi <b>Ana &lt;3</b></p>\n"  # HTML is escaped, text is not
    assert ana["Subject"] == "Welcome Ana"
    assert ana["From"] == "journeys@example.com"
    assert "<https://example.com/u?c=c-1>" in ana["List-Unsubscribe"]
    assert ana["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert ana["X-Switchyard-Action-Id"] == "a-email-1"
    ben_parts = parts_of(by_to["ben@example.com"])
    assert "Order o-9" in ben_parts["text/plain"] and "<p>" not in ben_parts["text/plain"]
    sent = {e["properties"]["to"]: e for e in events if e["type"] == "email.sent"}
    assert sent["ana@example.com"]["properties"]["template"] == "welcome"
    assert sent["ana@example.com"]["properties"]["message_id"] == ana["Message-ID"]
    assert sent["ana@example.com"]["event_id"] == "a-email-1:email.sent"


async def test_permanent_rejection_bounces_and_transient_is_retried(sink_settings: SinkSettings) -> None:
    write_templates(sink_settings)
    mailbox = Mailbox(
        reject={"gone@example.com": "550 5.1.1 no such user", "busy@example.com": "451 4.3.0 try later"}
    )
    async with smtp_server(mailbox) as (_, port):
        settings = sink_settings.with_(smtp=smtp_settings(port))
        async with running_sinks(settings, ["email"]):
            await produce_actions(
                settings,
                "email",
                [
                    action("email", "send_email", 1, to="gone@example.com", template="welcome", subject="x"),
                    action("email", "send_email", 2, to="busy@example.com", template="welcome", subject="x"),
                    action("email", "send_email", 3, to="ok@example.com", template="welcome", subject="x"),
                    action("email", "send_email", 4, to="ok@example.com", template="missing", subject="x"),
                ],
            )
            events = await read_json(settings, "events", at_least(4))
            dlq = await read_json(settings, "actions.dlq", at_least(2))
    outcome = {e["properties"]["action_id"]: e for e in events}
    assert outcome["a-email-1"]["type"] == "email.bounced"
    assert outcome["a-email-1"]["properties"]["smtp_code"] == 550
    assert outcome["a-email-1"]["properties"]["attempts"] == 1
    assert outcome["a-email-2"]["type"] == "email.failed"
    assert outcome["a-email-2"]["properties"]["attempts"] == settings.retry.max_attempts
    assert outcome["a-email-3"]["type"] == "email.sent"
    assert (
        outcome["a-email-4"]["type"] == "email.failed"
        and "no template" in outcome["a-email-4"]["properties"]["error"]
    )
    # A bounce is an answer, not an operator's problem: only the retried-out and misconfigured ones are DLQ'd.
    assert sorted(d["action"]["action_id"] for d in dlq) == ["a-email-2", "a-email-4"]
    assert [m["To"] for m in mailbox.messages] == ["ok@example.com"]
