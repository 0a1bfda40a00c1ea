"""Workflow catalog routes: list, get (every version), the diff between two versions, create and update the
draft, validate, publish, pause, resume, archive."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from agents.api import catalog_view
from agents.api.context import context_of
from agents.api.exceptions import ApiError
from agents.api.http import json_response, read_json
from agents.api.issues_view import issues_json
from agents.api.version_diff import version_diff
from engine.validation import validate_definition, validate_text


async def list_workflows(request: web.Request) -> web.Response:
    definitions = await context_of(request).catalog()
    return json_response({"workflows": catalog_view.listing(definitions)})


async def get_workflow(request: web.Request) -> web.Response:
    workflow_id = request.match_info["id"]
    definitions = await context_of(request).catalog()
    summary = catalog_view.summary(definitions, workflow_id)
    return json_response({**summary, "definitions": catalog_view.versions(definitions, workflow_id)})


async def get_diff(request: web.Request) -> web.Response:
    """?from=N&to=M: what changed from version N to version M (nodes and workflow-level fields)."""
    versions = []
    for name in ("from", "to"):
        raw = request.query.get(name, "")
        if not raw.isdigit() or len(raw) > 9:
            raise ApiError(400, "bad_query", f"`{name}` is a version number: ?from=1&to=2")
        versions.append(int(raw))
    definitions = await context_of(request).catalog()
    return json_response(version_diff(definitions, request.match_info["id"], versions[0], versions[1]))


async def create_draft(request: web.Request) -> web.Response:
    ctx = context_of(request)
    body = await read_json(request, ctx.config.max_body_bytes)
    record = catalog_view.plan_new_draft(await ctx.catalog(), body)
    await ctx.write_catalog(record)
    return await _answer_with(request, record, 201)


async def update_draft(request: web.Request) -> web.Response:
    ctx = context_of(request)
    body = await read_json(request, ctx.config.max_body_bytes)
    record = catalog_view.plan_update_draft(await ctx.catalog(), request.match_info["id"], body)
    await ctx.write_catalog(record)
    return await _answer_with(request, record, 200)


async def validate(request: web.Request) -> web.Response:
    """The body's {"definition": {...}} or {"text": "yaml"}, else the stored draft (else the latest)."""
    ctx = context_of(request)
    body = await read_json(request, ctx.config.max_body_bytes, required=False)
    if isinstance(body, dict) and isinstance(body.get("text"), str):
        return json_response(issues_json(validate_text(body["text"], "<text>")))
    if isinstance(body, dict) and "definition" in body:
        definition = body["definition"]
        if isinstance(definition, dict):  # what the API stores is a draft until published
            definition = {"status": "draft", "version": 1, **definition}
        return json_response(issues_json(validate_definition(definition)))
    if body is not None:
        raise ApiError(400, "bad_body", 'send {"definition": {...}}, {"text": "..."} or no body')
    return json_response(issues_json(validate_definition(await stored_definition(request))))


async def publish(request: web.Request) -> web.Response:
    ctx = context_of(request)
    body = await read_json(request, ctx.config.max_body_bytes, required=False) or {}
    note = body.get("note", "") if isinstance(body, dict) else None
    if not isinstance(note, str):
        raise ApiError(400, "bad_body", '`note` must be a string: {"note": "what changed"}')
    record = catalog_view.plan_publish_draft(await ctx.catalog(), request.match_info["id"], note, ctx.clock())
    await ctx.write_catalog(record)
    return await _answer_with(request, record, 200)


def status_change(change: str) -> Any:
    async def handler(request: web.Request) -> web.Response:
        ctx = context_of(request)
        record = catalog_view.plan_status_change(await ctx.catalog(), request.match_info["id"], change)
        await ctx.write_catalog(record)
        return await _answer_with(request, record, 200)

    return handler


async def stored_definition(request: web.Request) -> dict[str, Any]:
    """The workflow's draft, or its newest version when it has no draft."""
    workflow_id = request.match_info["id"]
    definitions = await context_of(request).catalog()
    found = catalog_view.versions(definitions, workflow_id)
    if not found:
        raise ApiError(404, "not_found", f"no workflow {workflow_id!r}")
    return catalog_view.draft_of(definitions, workflow_id) or found[-1]


async def _answer_with(request: web.Request, record: tuple[bytes, bytes], status: int) -> web.Response:
    workflow_id, version = record[0].decode().split("@", 1)
    definitions = await context_of(request).catalog()
    return json_response(
        {
            **catalog_view.summary(definitions, workflow_id),
            "definition": definitions[(workflow_id, int(version))],
        },
        status,
    )


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/v1/workflows", list_workflows)
    router.add_post("/v1/workflows", create_draft)
    router.add_get("/v1/workflows/{id}", get_workflow)
    router.add_get("/v1/workflows/{id}/diff", get_diff)
    router.add_put("/v1/workflows/{id}/draft", update_draft)
    router.add_post("/v1/workflows/{id}/validate", validate)
    router.add_post("/v1/workflows/{id}/publish", publish)
    for change in catalog_view.STATUS_CHANGES:
        router.add_post(f"/v1/workflows/{{id}}/{change}", status_change(change))
