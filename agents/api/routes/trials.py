"""POST /v1/workflows/{id}/simulate and /backtest: run a draft offline; nothing is sent. Both run in a child
process within the trial caps (agents/api/trial_runner.py), never on the worker's event loop."""

from __future__ import annotations

import asyncio
from contextlib import aclosing
from typing import Any

import orjson
from aiohttp import web

from agents.api.analytics_client import fetch_report
from agents.api.context import ApiContext, context_of
from agents.api.exceptions import ApiError
from agents.api.http import json_response, read_json
from agents.api.routes.workflows import stored_definition
from agents.api.trial_runner import run_capped
from agents.api.trials import scripted_events, trial_workflows
from engine.durations import DAY
from engine.events import Limits, decode_event
from engine.types import Event

RECORDED_EVENTS_REPORT = "events"  # asked of the analytics writer; the `events` topic when it has none
MAX_BACKTEST_DAYS = 90


async def simulate(request: web.Request) -> web.Response:
    ctx = context_of(request)
    body = await read_json(request, ctx.config.max_body_bytes)
    definition = await _definition(request, body)
    start = body.get("start", ctx.clock()) if isinstance(body, dict) else ctx.clock()
    if not isinstance(start, int) or isinstance(start, bool):
        raise ApiError(400, "bad_script", "`start` is epoch milliseconds")
    events, until = scripted_events(body, start, ctx.config.trials)
    trial_workflows(definition)  # an invalid definition is a quick 422 here, not a trip to the child
    result = await run_capped(definition, events, until, ctx.config.trials)
    return json_response({"workflow_id": definition.get("id"), "start": start, **result})


async def backtest(request: web.Request) -> web.Response:
    ctx = context_of(request)
    body = await read_json(request, ctx.config.max_body_bytes, required=False) or {}
    if not isinstance(body, dict):
        raise ApiError(400, "bad_body", 'send {"days": N} (and optionally "definition")')
    days = body.get("days", 7)
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_BACKTEST_DAYS:
        raise ApiError(400, "bad_days", f"`days` is a whole number from 1 to {MAX_BACKTEST_DAYS}")
    definition = await _definition(request, body)
    trial_workflows(definition)
    now = ctx.clock()
    since = now - days * DAY
    events, source = await recorded_events(ctx, since, ctx.config.trials.max_events)
    result = await run_capped(definition, events, now, ctx.config.trials)
    return json_response(
        {"workflow_id": definition.get("id"), "days": days, "since": since, "source": source, **result}
    )


async def recorded_events(ctx: ApiContext, since: int, cap: int) -> tuple[list[Event], str]:
    """Events with ts >= since, per contact in arrival order: from the analytics store when its writer
    serves the `events` report, else from the `events` topic itself. At most ``cap`` + 1 of them: one more
    than the trial takes is enough for it to refuse (none of the rest is loaded)."""
    try:
        params = {"since_ms": since, "max_rows": cap + 1}
        report = await fetch_report(
            ctx.config.analytics_url, ctx.config.token, RECORDED_EVENTS_REPORT, params
        )
    except ApiError:
        return await _events_from_topic(ctx, since, cap), "kafka"
    columns = report["columns"]
    rows = [dict(zip(columns, row, strict=False)) for row in report["rows"]]
    return [_event_from_row(row) for row in rows if int(row["ts_ms"]) >= since], "analytics"


def _event_from_row(row: dict[str, Any]) -> Event:
    properties = row.get("properties") or "{}"
    return {
        "event_id": str(row["event_id"]),
        "contact_id": str(row["contact_id"]),
        "type": str(row["type"]),
        "ts": int(row["ts_ms"]),
        "properties": orjson.loads(properties) if isinstance(properties, str) else dict(properties),
    }


async def _events_from_topic(ctx: ApiContext, since: int, cap: int) -> list[Event]:
    """As `recorded_events`, read a fetch at a time (the event loop runs between two), stopping at one
    event more than ``cap``."""
    limits = Limits(max_bytes=ctx.max_event_bytes, max_ts=ctx.clock() + DAY)
    out: list[Event] = []
    async with aclosing(ctx.kafka.read_batches(ctx.events_topic)) as batches:  # closed when left early
        async for records in batches:
            for record in records:
                event = decode_event(record.value, record.key, limits)
                if isinstance(event, dict) and event["ts"] >= since and event["type"] != "timer.fired":
                    out.append(event)
            if len(out) > cap:
                break
            await asyncio.sleep(0)
    return out


async def _definition(request: web.Request, body: Any) -> dict[str, Any]:
    if isinstance(body, dict) and "definition" in body:
        if not isinstance(body["definition"], dict):
            raise ApiError(400, "bad_definition", "`definition` must be an object")
        return dict(body["definition"])
    return await stored_definition(request)


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_post("/v1/workflows/{id}/simulate", simulate)
    router.add_post("/v1/workflows/{id}/backtest", backtest)
