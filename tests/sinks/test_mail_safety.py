"""Mail safety: exactly one recipient per message, and no SMTP login over plain text unless opted in
(against a real aiosmtpd server on loopback, which offers no STARTTLS)."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from sinks.email_sink import recipient_of
from sinks.exceptions import PermanentFailure, RetryableFailure, SinkConfigError
from sinks.settings import SmtpSettings, smtp_from_env
from sinks.smtp_pool import SmtpPool
from tests.sinks.fixtures import Mailbox, smtp_server


@pytest.mark.parametrize(
    "to",
    ["a@x.example, b@y.example, c@z.example", "a@x.example;b@y.example", "a@x.example\r\nBcc: z@q.example",
     "Ann <a@x.example> b@y.example", "a@b@c.example", "no-at-sign", ""],
)  # fmt: skip
def test_a_recipient_list_or_header_injection_is_refused(to: str) -> None:
    with pytest.raises(PermanentFailure):
        recipient_of({"to": to})


def test_one_recipient_with_or_without_display_name() -> None:
    assert recipient_of({"to": "Ann <ann@x.example>"}) == "ann@x.example"
    assert recipient_of({"email": "ben@y.example"}) == "ben@y.example"


def test_starttls_is_the_default_with_a_login_and_plain_auth_needs_an_opt_in() -> None:
    base = {
        "SWITCHYARD_SMTP_HOST": "mail.example",
        "SWITCHYARD_SMTP_USER": "u",
        "SWITCHYARD_SMTP_PASSWORD": "p",
    }
    settings = smtp_from_env(base)
    assert settings is not None and settings.starttls and not settings.allow_plain_auth
    with pytest.raises(SinkConfigError, match="without TLS"):
        smtp_from_env({**base, "SWITCHYARD_SMTP_STARTTLS": "false"})
    plain = smtp_from_env({**base, "SWITCHYARD_SMTP_STARTTLS": "false", "SWITCHYARD_SMTP_PLAIN_AUTH": "true"})
    assert plain is not None and not plain.starttls and plain.allow_plain_auth
    implicit = smtp_from_env({**base, "SWITCHYARD_SMTP_TLS": "true"})
    assert implicit is not None and implicit.use_tls and not implicit.starttls
    anonymous = smtp_from_env({"SWITCHYARD_SMTP_HOST": "mail.example"})
    assert anonymous is not None and not anonymous.starttls  # no login: nothing to protect here


async def test_the_pool_never_logs_in_over_plain_text_by_default() -> None:
    mailbox = Mailbox()
    async with smtp_server(mailbox) as (_, port):
        settings = smtp_from_env({"SWITCHYARD_SMTP_HOST": "127.0.0.1", "SWITCHYARD_SMTP_PORT": str(port),
                          "SWITCHYARD_SMTP_USER": "u", "SWITCHYARD_SMTP_PASSWORD": "secret"})  # fmt: skip
        assert isinstance(settings, SmtpSettings)
        pool = SmtpPool(settings)
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "a@x.example", "b@y.example", "hi"
        message.set_content("hello")
        with pytest.raises((RetryableFailure, PermanentFailure)):  # the server offers no STARTTLS
            await pool.send(message, "b@y.example")
        await pool.close()
    assert mailbox.messages == []


async def test_only_the_one_recipient_gets_the_message_whatever_the_headers_say() -> None:
    mailbox = Mailbox()
    async with smtp_server(mailbox) as (_, port):
        pool = SmtpPool(SmtpSettings(host="127.0.0.1", port=port, timeout_s=5, connections=1))
        message = EmailMessage()
        message["From"], message["To"], message["Cc"] = "a@x.example", "b@y.example", "c@z.example"
        message["Subject"] = "hi"
        message.set_content("hello")
        await pool.send(message, "b@y.example")
        await pool.close()
    assert len(mailbox.messages) == 1
    assert mailbox.rcpt_seen == ["b@y.example"]
