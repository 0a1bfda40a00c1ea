"""GET /v1/events/seen?days=N: the event types, their property keys and the contact attribute keys the
stream has carried in the last N days (30), from the analytics `seen` report."""

from __future__ import annotations

from aiohttp import web

from agents.api.analytics_client import fetch_report
from agents.api.context import context_of
from agents.api.http import days_param, json_response
from agents.api.seen_view import events_seen
from engine.durations import DAY


async def get_seen(request: web.Request) -> web.Response:
    ctx = context_of(request)
    days = days_param(request)
    now = ctx.clock()
    params = {"since_ms": now - days * DAY, "as_of_ms": now}
    report = await fetch_report(ctx.config.analytics_url, ctx.config.token, "seen", params)
    return json_response({"days": days, **events_seen(report)})


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/v1/events/seen", get_seen)
