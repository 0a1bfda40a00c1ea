"""The email templates send nodes name: GET /v1/message-templates lists them, POST
/v1/message-templates/preview renders one for a sample or a stored contact (agents/api/template_preview.py).

(/v1/templates is the gallery of example workflows; these are the files of SWITCHYARD_TEMPLATES.)
"""

from __future__ import annotations

from aiohttp import web

from agents.api.context import context_of
from agents.api.exceptions import ApiError
from agents.api.http import json_response, object_field, read_json
from agents.api.template_preview import PreviewRequest, preview, sample_profile, template_names
from sinks.template_files import TemplateFiles

SAMPLE_CONTACT = "sample"


async def list_templates(request: web.Request) -> web.Response:
    templates = TemplateFiles(context_of(request).config.templates_dir)
    return json_response({"templates": template_names(templates)})


async def preview_template(request: web.Request) -> web.Response:
    ctx = context_of(request)
    body = await read_json(request, ctx.config.max_body_bytes)
    if not isinstance(body, dict) or not isinstance(body.get("template"), str) or not body["template"]:
        raise ApiError(400, "bad_body", 'send {"template": "name", "params": {...}, "contact": {...}}')
    params = object_field(body, "params")
    contact_id = body.get("contact_id")
    if contact_id is not None and (not isinstance(contact_id, str) or not contact_id):
        raise ApiError(400, "bad_body", "`contact_id` must be a non-empty string")
    if "contact" in body:
        profile, source = sample_profile(object_field(body, "contact")), "sample"
    elif contact_id is not None:
        state = await ctx.contact_state(contact_id)
        if state is None:
            raise ApiError(404, "unknown_contact", f"no stored contact {contact_id!r}")
        profile, source = dict(state.get("profile") or {}), "stored"
    else:
        profile, source = sample_profile({}), "sample"
    event = object_field(body, "event") if "event" in body else None
    if event is not None and not isinstance(event.get("properties", {}), dict):
        raise ApiError(400, "bad_body", "`event.properties` must be an object")
    if event is not None:
        event = {"properties": {}, **event}
    wanted = PreviewRequest(body["template"], params, contact_id or SAMPLE_CONTACT, profile, event,
                            object_field(body, "run"), ctx.clock())  # fmt: skip
    rendered = preview(TemplateFiles(ctx.config.templates_dir), wanted)
    return json_response({"template": wanted.template, "contact_id": wanted.contact_id,
                          "contact_source": source, **rendered})  # fmt: skip


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/v1/message-templates", list_templates)
    router.add_post("/v1/message-templates/preview", preview_template)
