"""A test send of one email node to one address: the node's params rendered for a sample or a stored contact
as the engine renders them at step time, then handed to the email sink's own handler (body from the template
files, the message built and sent by SMTP), so what arrives is what the node would send.

Test sends are marked and kept out of everything that counts: the subject starts with ``[Test]``, the action
id (and so the Message-ID) with ``test-``, the message carries no unsubscribe link (it would unsubscribe the
contact for real), and nothing is written to Kafka: no ``email.sent`` outcome reaches the events topic, so no
analytics, profile count or frequency cap ever sees it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from agents.api.exceptions import ApiError
from engine.run_state import scalar_properties
from engine.templates import TemplateError, render_params, template_context
from sinks.email_sink import EmailHandler, recipient_of
from sinks.exceptions import PermanentFailure, RetryableFailure
from sinks.records import Action
from sinks.settings import SmtpSettings
from sinks.template_files import TemplateFiles

TEST_SUBJECT_PREFIX = "[Test] "
TEST_ACTION_PREFIX = "test-"
EMAIL_ACTIONS = frozenset({"send_email"})


@dataclass(frozen=True)
class TestSend:
    """Who the node is rendered for, and where the message goes."""

    to: str
    contact_id: str
    profile: dict[str, Any]
    event_properties: dict[str, Any]
    now: int


def email_params(definition: dict[str, Any], node_id: str) -> dict[str, Any]:
    """The params of the definition's email node ``node_id``: 404 when there is no such node, 400 when it
    sends no email."""
    node = (definition.get("nodes") or {}).get(node_id)
    if not isinstance(node, dict):
        raise ApiError(404, "no_node", f"no node {node_id!r} in {definition.get('id')!r}")
    if node.get("type") != "action" or node.get("action") not in EMAIL_ACTIONS:
        raise ApiError(400, "not_an_email_node", f"{node_id} sends no email (action: {node.get('action')!r})")
    params = node.get("params") or {}
    if not isinstance(params, dict):
        raise ApiError(400, "bad_definition", f"{node_id}.params must be an object")
    return params


def test_action(params: dict[str, Any], send: TestSend) -> Action:
    """The action as the engine would emit it for this contact, marked as a test and addressed to ``to``."""
    if not isinstance(send.to, str):
        raise ApiError(400, "bad_body", "`to` is the address to send the test to")
    try:
        to = recipient_of({"to": send.to})
    except PermanentFailure as exc:
        raise ApiError(400, "bad_address", str(exc)) from None
    variables = scalar_properties(send.event_properties)
    event = {"type": "test.send", "properties": send.event_properties}
    context = template_context(send.profile, event, {"vars": variables}, send.now, send.contact_id)
    try:
        rendered = render_params(params, context)
    except TemplateError as exc:
        raise ApiError(422, "template_error", f"params: {exc}") from None
    subject = f"{TEST_SUBJECT_PREFIX}{rendered.get('subject') or ''}"
    action_id = f"{TEST_ACTION_PREFIX}{uuid.uuid4().hex[:20]}"
    raw = {"action_id": action_id, "ts": send.now, "test_send": True}
    return Action(
        action_id, "email", "send_email", send.contact_id, {**rendered, "to": to, "subject": subject}, raw
    )


async def send_test(action: Action, smtp: SmtpSettings | None, templates_dir: Path) -> dict[str, Any]:
    """Send through the email sink's handler on one short-lived connection; the outcome's properties (to,
    subject, template, message_id) are returned, never published."""
    if smtp is None:
        raise ApiError(
            503, "no_smtp", "no SMTP server configured: set SWITCHYARD_SMTP_HOST (and _PORT, _FROM)"
        )
    handler = EmailHandler(replace(smtp, connections=1), TemplateFiles(templates_dir), unsubscribe_url=None)
    await handler.start()
    try:
        delivery = await handler.handle(action, 1)
    except PermanentFailure as exc:
        raise ApiError(422, "send_failed", str(exc)) from None
    except RetryableFailure as exc:
        raise ApiError(502, "smtp_unavailable", str(exc)) from None
    finally:
        await handler.close()
    return dict(delivery.events[0].properties)
