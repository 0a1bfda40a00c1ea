"""The email channel: render the named template (text and HTML), build the message, send it by SMTP.

Recipient: ``params.to`` (or ``params.email``). Subject: ``params.subject``. Body: ``<template>.txt`` and
``<template>.html`` from the templates dir, or inline ``params.text`` / ``params.html``; a missing text part
is derived from the HTML. Outcome: ``email.sent`` (to, template, subject, message_id); a 5xx rejection is
``email.bounced``.
"""

from __future__ import annotations

import unicodedata
from email.utils import getaddresses
from typing import Any

from engine.links import unsubscribe_token
from sinks.email_message import build_email, html_to_text
from sinks.exceptions import PermanentFailure, SinkConfigError
from sinks.records import Action, Delivery, OutcomeEvent
from sinks.settings import SmtpSettings
from sinks.smtp_pool import SmtpPool
from sinks.template_files import TemplateFiles, action_context


class EmailBody:
    """Text and HTML of an email action, rendered."""

    def __init__(self, templates: TemplateFiles) -> None:
        self.templates = templates

    def render(self, action: Action) -> tuple[str, str | None]:
        params = action.params
        context = action_context(action)
        name = params.get("template")
        text = html = None
        if isinstance(name, str) and name:
            text = self.templates.render(name, ".txt", context)
            html = self.templates.render(name, ".html", context)
            if text is None and html is None and "text" not in params and "html" not in params:
                raise PermanentFailure(f"no template {name!r} (.txt or .html) in {self.templates.directory}")
        html = html if html is not None else _str_or_none(params.get("html"))
        text = text if text is not None else _str_or_none(params.get("text") or params.get("body"))
        if text is None:
            text = html_to_text(html) if html is not None else ""
        return text, html


def recipient_of(params: dict[str, Any]) -> str:
    """The one address the message goes to (see `single_address`)."""
    to = params.get("to") or params.get("email")
    if not isinstance(to, str) or "@" not in to:
        raise PermanentFailure("email action has no recipient address (params.to)")
    return single_address(to, "an email action has exactly one recipient address (params.to)")


def single_address(value: str, refusal: str) -> str:
    """``value`` as one address: a list ("a@x, b@y"), a line or header break, a control or separator
    character, or a display name that hides a second address is refused with ``refusal``."""
    if any(ch in value for ch in ",;") or any(_unprintable(ch) for ch in value):
        raise PermanentFailure(refusal)
    found = getaddresses([value])
    if len(found) != 1 or not found[0][1] or found[0][1].count("@") != 1:
        raise PermanentFailure(refusal)
    return found[0][1]


def _unprintable(ch: str) -> bool:
    """Control, format and separator characters (CR, LF, VT, U+2028 ...), the ASCII space aside."""
    return ch != " " and unicodedata.category(ch)[0] in "CZ"


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


class EmailHandler:
    channel = "email"

    def __init__(
        self,
        smtp: SmtpSettings | None,
        templates: TemplateFiles,
        unsubscribe_url: str | None,
        unsubscribe_secret: str | None = None,
    ) -> None:
        self.smtp = smtp
        self.body = EmailBody(templates)
        self.unsubscribe_url = unsubscribe_url
        self.unsubscribe_secret = unsubscribe_secret
        self.pool: SmtpPool | None = None

    async def start(self) -> None:
        if self.smtp is None:
            raise SinkConfigError(
                "email: no SMTP server configured: set SWITCHYARD_SMTP_HOST (and _PORT, _FROM)"
            )
        self.pool = SmtpPool(self.smtp)

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()

    async def handle(self, action: Action, attempt: int) -> Delivery:
        assert self.pool is not None and self.smtp is not None
        to = recipient_of(action.params)
        subject = str(action.params.get("subject") or "")
        text, html = self.body.render(action)
        message = build_email(
            action_id=action.action_id,
            contact_id=action.contact_id,
            sender=self.smtp.sender,
            recipient=to,
            subject=subject,
            text=text,
            html=html,
            unsubscribe_url=self.unsubscribe_url,
            unsubscribe_token=unsubscribe_token(self.unsubscribe_secret, action.contact_id, "email")
            if self.unsubscribe_secret
            else "",
            transactional=action.params.get("category") == "transactional",
        )
        await self.pool.send(message, to)
        properties = {"to": to, "subject": subject, "message_id": message["Message-ID"]}
        if isinstance(action.params.get("template"), str):
            properties["template"] = action.params["template"]
        return Delivery([OutcomeEvent("email.sent", properties)])
