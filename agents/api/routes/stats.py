"""GET /v1/workflows/{id}/stats?days=N: funnel, outcomes and live positions from the analytics reports."""

from __future__ import annotations

import asyncio

from aiohttp import web

from agents.api.analytics_client import fetch_report
from agents.api.context import context_of
from agents.api.http import days_param, json_response
from agents.api.stats_view import workflow_stats
from engine.durations import DAY


async def get_stats(request: web.Request) -> web.Response:
    ctx = context_of(request)
    workflow_id = request.match_info["id"]
    days = days_param(request)
    now = ctx.clock()
    params = {"workflow": workflow_id, "since_ms": now - days * DAY, "as_of_ms": now}
    url, token = ctx.config.analytics_url, ctx.config.token
    funnel, outcomes, whereis = await asyncio.gather(
        fetch_report(url, token, "funnel", params),
        fetch_report(url, token, "outcomes", params),
        fetch_report(url, token, "whereis", params),
    )
    return json_response({"days": days, **workflow_stats(workflow_id, funnel, outcomes, whereis)})


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/v1/workflows/{id}/stats", get_stats)
