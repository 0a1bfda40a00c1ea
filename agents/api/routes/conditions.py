"""POST /v1/conditions/explain: a condition expression as the builder's rows, or why it is not (then the
builder keeps the raw expression)."""

from __future__ import annotations

from aiohttp import web

from agents.api.condition_rows import explain
from agents.api.context import context_of
from agents.api.exceptions import ApiError
from agents.api.http import json_response, read_json
from engine.conditions.parser import MAX_SOURCE_LENGTH


async def explain_condition(request: web.Request) -> web.Response:
    body = await read_json(request, context_of(request).config.max_body_bytes)
    expression = body.get("expression") if isinstance(body, dict) else None
    if not isinstance(expression, str):
        raise ApiError(400, "bad_body", 'send {"expression": "contact.plan == \'pro\'"}')
    if len(expression) > MAX_SOURCE_LENGTH:
        raise ApiError(413, "too_large", f"a condition has at most {MAX_SOURCE_LENGTH} characters")
    return json_response({"expression": expression, **explain(expression)})


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_post("/v1/conditions/explain", explain_condition)
