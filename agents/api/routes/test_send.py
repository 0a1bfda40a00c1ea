"""POST /v1/workflows/{id}/nodes/{node}/test-send: send one email node to one address through the email sink
(agents/api/test_send.py), for a sample contact ({"contact": {"attrs": {...}}}) or a stored one
({"contact_id": "..."}); the definition is the body's (an unsaved draft) or the stored draft (else latest)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from agents.api.context import context_of
from agents.api.exceptions import ApiError
from agents.api.http import json_response, object_field, read_json
from agents.api.routes.workflows import stored_definition
from agents.api.test_send import TestSend, email_params, send_test, test_action

SAMPLE_CONTACT = "test-contact"


async def test_send(request: web.Request) -> web.Response:
    ctx = context_of(request)
    body = await read_json(request, ctx.config.max_body_bytes)
    if not isinstance(body, dict):
        raise ApiError(400, "bad_body", 'send {"to": "you@example.com", "contact": {"attrs": {...}}}')
    if "definition" in body:
        definition = object_field(body, "definition")
    else:
        definition = await stored_definition(request)
    params = email_params(definition, request.match_info["node"])
    contact_id, profile = await _contact(request, body)
    event = object_field(body, "event")
    properties = event.get("properties", {})
    if not isinstance(properties, dict):
        raise ApiError(400, "bad_body", "`event.properties` must be an object")
    send = TestSend(body.get("to"), contact_id, profile, properties, ctx.clock())  # type: ignore[arg-type]
    action = test_action(params, send)
    sent = await send_test(action, ctx.config.smtp, ctx.config.templates_dir)
    return json_response({"sent": True, "test": True, "action_id": action.action_id, "contact_id": contact_id,
                          **sent})  # fmt: skip


async def _contact(request: web.Request, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    contact_id = body.get("contact_id")
    if contact_id is not None:
        if not isinstance(contact_id, str) or not contact_id or len(contact_id) > 256:
            raise ApiError(400, "bad_body", "`contact_id` is a non-empty string")
        state = await context_of(request).contact_state(contact_id)
        if state is None:
            raise ApiError(404, "unknown_contact", f"no stored contact {contact_id!r}")
        return contact_id, dict(state.get("profile") or {})
    attrs = object_field(object_field(body, "contact"), "attrs")
    return SAMPLE_CONTACT, {"attrs": attrs}


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_post("/v1/workflows/{id}/nodes/{node}/test-send", test_send)
