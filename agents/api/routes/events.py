"""POST /v1/events: validate every event, then produce them all, or none."""

from __future__ import annotations

from aiohttp import web

from agents.api.context import context_of
from agents.api.exceptions import ApiError
from agents.api.http import json_response, read_json
from agents.api.ingest import check_events, event_documents


async def post_events(request: web.Request) -> web.Response:
    ctx = context_of(request)
    documents = event_documents(await read_json(request, ctx.config.max_body_bytes))
    if documents is None or not documents:
        raise ApiError(400, "bad_body", 'send one event object, a non-empty array, or {"events": [...]}')
    if len(documents) > ctx.config.max_batch_events:
        raise ApiError(413, "too_many_events", f"at most {ctx.config.max_batch_events} events per request")
    events, errors = check_events(documents, ctx.event_limits())
    if errors:
        raise ApiError(400, "invalid_events", f"{len(errors)} of {len(documents)} events are invalid", errors)
    await ctx.kafka.send_events(ctx.events_topic, events)
    return json_response({"accepted": len(events), "event_ids": [e["event_id"] for e in events]}, 202)


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_post("/v1/events", post_events)
