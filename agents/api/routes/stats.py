"""GET /v1/workflows/{id}/stats?days=N: funnel, outcomes, live positions, edges and runs entered per day over
the last N whole UTC days (today included), from the analytics reports."""

from __future__ import annotations

import asyncio

from aiohttp import web

from agents.api.analytics_client import fetch_report
from agents.api.context import context_of
from agents.api.http import days_param, json_response
from agents.api.stats_view import period, workflow_stats

REPORTS = ("funnel", "outcomes", "whereis", "entered_daily", "edges")


async def get_stats(request: web.Request) -> web.Response:
    ctx = context_of(request)
    workflow_id = request.match_info["id"]
    days = days_param(request)
    now = ctx.clock()
    since, day_list = period(now, days)
    params = {"workflow": workflow_id, "since_ms": since, "as_of_ms": now}
    url, token = ctx.config.analytics_url, ctx.config.token
    funnel, outcomes, whereis, entered_daily, edges = await asyncio.gather(
        *(fetch_report(url, token, name, params) for name in REPORTS)
    )
    stats = workflow_stats(workflow_id, funnel, outcomes, whereis, entered_daily, edges, day_list)
    return json_response({"days": days, **stats})


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/v1/workflows/{id}/stats", get_stats)
