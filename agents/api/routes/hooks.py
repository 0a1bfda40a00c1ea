"""POST /v1/hooks/{source}: a SaaS tool's webhook, verified with the source's own signature scheme and
mapped to an event by its declarative mapping (agents/api/hooks.py), then produced like /v1/events.

What fails verification, does not map, or breaks the event contract is refused with its reason (401 or
400) and kept in the events dead-letter topic with the raw body. An unknown source is a 404.
"""

from __future__ import annotations

from hashlib import blake2b

import orjson
from aiohttp import web

from agents.api.context import context_of
from agents.api.exceptions import ApiError
from agents.api.hooks import map_payload, verified
from agents.api.http import json_response, read_body
from agents.api.ingest import check_events
from agents.api.refusals import dead_letter


async def post_hook(request: web.Request) -> web.Response:
    ctx = context_of(request)
    name = request.match_info["source"]
    source = ctx.config.hooks.get(name)
    if source is None:
        raise ApiError(404, "unknown_source", f"no webhook source {name!r} is configured")
    body = await read_body(request, ctx.config.max_body_bytes)
    origin = f"api:hooks/{name}"

    async def refuse(status: int, reason: str, detail: str, key: str | None = None) -> ApiError:
        await dead_letter(ctx, key, body, reason, detail, origin)
        return ApiError(status, reason, detail)

    problem = verified(source, body, request.headers)
    if problem is not None:
        raise await refuse(401, problem.reason, problem.detail)
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise await refuse(400, "not_json", f"the body is not JSON: {exc}") from None
    fallback_id = request.headers.get("webhook-id") or f"{name}-{blake2b(body, digest_size=16).hexdigest()}"
    mapped = map_payload(source, payload, fallback_id, ctx.clock())
    if not isinstance(mapped, dict):
        raise await refuse(400, mapped.reason, mapped.detail)
    events, errors = check_events([mapped], ctx.event_limits())
    if errors:
        raise await refuse(400, errors[0]["reason"], errors[0]["detail"], mapped["contact_id"])
    await ctx.kafka.send_events(ctx.events_topic, events)
    return json_response({"accepted": 1, "event_ids": [events[0]["event_id"]]}, 202)


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_post("/v1/hooks/{source}", post_hook)
