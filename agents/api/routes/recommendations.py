"""Workflow recommendations: list them (each listing is recorded as shown), preview the draft one would
become (nothing stored, nothing recorded), apply one as a new draft with its diff, or dismiss it with an
optional reason; every outcome is a record on `recommendations`."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from aiohttp import web

from agents.api import catalog_view, recommendations_view
from agents.api.analytics_client import fetch_report
from agents.api.context import ApiContext, context_of
from agents.api.exceptions import ApiError
from agents.api.http import json_response, read_json
from agents.api.issues_view import issues_json
from engine.durations import DAY
from engine.validation import validate_definition
from ml.workflow_recs import Recommendation

DAYS = 30  # the figures cover the last 30 days


async def _current(request: web.Request) -> tuple[dict[str, Any], list[Recommendation]]:
    ctx = context_of(request)
    workflow_id = request.match_info["id"]
    definition = recommendations_view.governing(await ctx.catalog(), workflow_id)
    now = ctx.clock()
    params = {"workflow": workflow_id, "since_ms": now - DAYS * DAY, "as_of_ms": now}
    url, token = ctx.config.analytics_url, ctx.config.token
    answers = await asyncio.gather(
        *(fetch_report(url, token, name, params) for name in recommendations_view.REPORTS)
    )
    reports = dict(zip(recommendations_view.REPORTS, answers, strict=True))
    return definition, recommendations_view.current(definition, reports)


async def _record(ctx: ApiContext, records: list[tuple[bytes, bytes]]) -> None:
    if records:
        await ctx.kafka.send_records(ctx.recommendations_topic, records)


async def list_recommendations(request: web.Request) -> web.Response:
    ctx = context_of(request)
    definition, found = await _current(request)
    now = ctx.clock()
    await _record(ctx, [recommendations_view.record(rec, "shown", now) for rec in found])
    return json_response(
        {
            "workflow": definition["id"],
            "version": int(definition["version"]),
            "days": DAYS,
            "recommendations": [rec.as_json() for rec in found],
        }
    )


async def preview_recommendation(request: web.Request) -> web.Response:
    """The draft an apply would create and its diff, checked like an apply; nothing is written."""
    ctx = context_of(request)
    definition, found = await _current(request)
    rec = recommendations_view.find(found, request.match_info["rid"])
    (_, value), changes = recommendations_view.planned_draft(await ctx.catalog(), definition, rec)
    draft = orjson.loads(value)
    return json_response(
        {
            "draft_version": int(draft["version"]),
            "definition": draft,
            "diff": changes,
            "validation": issues_json(validate_definition(draft)),
            "recommendation": rec.as_json(),
        }
    )


async def apply_recommendation(request: web.Request) -> web.Response:
    ctx = context_of(request)
    definition, found = await _current(request)
    rec = recommendations_view.find(found, request.match_info["rid"])
    definitions = await ctx.catalog()
    draft_record, changes = recommendations_view.planned_draft(definitions, definition, rec)
    await ctx.write_catalog(draft_record)
    draft_version = int(draft_record[0].decode().rsplit("@", 1)[1])
    await _record(
        ctx, [recommendations_view.record(rec, "applied", ctx.clock(), draft_version=draft_version)]
    )
    definitions = await ctx.catalog()
    draft = definitions[(rec.workflow, draft_version)]
    return json_response(
        {
            **catalog_view.summary(definitions, rec.workflow),
            "definition": draft,
            "diff": changes,
            "validation": issues_json(validate_definition(draft)),
            "recommendation": rec.as_json(),
        },
        201,
    )


async def dismiss_recommendation(request: web.Request) -> web.Response:
    ctx = context_of(request)
    body = await read_json(request, ctx.config.max_body_bytes, required=False) or {}
    reason = body.get("reason", "") if isinstance(body, dict) else None
    if not isinstance(reason, str) or len(reason) > 1000:
        raise ApiError(400, "bad_body", 'send {"reason": "why"} (at most 1000 characters) or no body')
    _, found = await _current(request)
    rec = recommendations_view.find(found, request.match_info["rid"])
    await _record(ctx, [recommendations_view.record(rec, "dismissed", ctx.clock(), reason=reason)])
    return json_response({"dismissed": rec.id, "reason": reason, "recommendation": rec.as_json()})


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/v1/workflows/{id}/recommendations", list_recommendations)
    router.add_get("/v1/workflows/{id}/recommendations/{rid}/preview", preview_recommendation)
    router.add_post("/v1/workflows/{id}/recommendations/{rid}/apply", apply_recommendation)
    router.add_post("/v1/workflows/{id}/recommendations/{rid}/dismiss", dismiss_recommendation)
