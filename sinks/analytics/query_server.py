"""The writer's loopback report endpoint: the way other processes query an embedded (chdb) store.

chdb lets one process open a data path, and the writer holds it; `switchyard report` asks the writer.
Only the named reports run here, never SQL from the request. With an API token configured every request
needs `Authorization: Bearer <token>`.

    GET /health                         -> {"status": "ok", "stats": {...}}
    GET /reports/<name>?workflow=&since_ms=&as_of_ms=   -> {"columns": [...], "rows": [[...], ...]}
"""

from __future__ import annotations

import hmac
import logging
import time
from typing import Any

from aiohttp import web

from sinks.analytics.exceptions import QueryTooSlow, StoreUnavailable, UnknownReport
from sinks.analytics.gateway import StoreGateway
from sinks.analytics.reports import MAX_REPORT_ROWS, REPORTS, report_parameters, run_report
from sinks.analytics.writer import WriterStats

log = logging.getLogger("switchyard.analytics.http")


def build_app(gateway: StoreGateway, stats: WriterStats, token: str | None) -> web.Application:
    async def authorised(request: web.Request) -> bool:
        if not token:
            return True
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())

    async def health(request: web.Request) -> web.Response:
        if not await authorised(request):
            return web.json_response({"error": "unauthorised"}, status=401)
        return web.json_response({"status": "ok", "stats": stats.as_dict()})

    async def report(request: web.Request) -> web.Response:
        if not await authorised(request):
            return web.json_response({"error": "unauthorised"}, status=401)
        name = request.match_info["name"]
        if name not in REPORTS:
            return web.json_response(
                {"error": f"unknown report {name!r}", "known": list(REPORTS)}, status=404
            )
        try:
            params = report_parameters(
                request.query.get("workflow"),
                int(request.query.get("since_ms", "0")),
                int(request.query.get("as_of_ms", str(int(time.time() * 1000)))),
                int(request.query.get("max_rows", str(MAX_REPORT_ROWS))),
            )
        except ValueError:
            return web.json_response(
                {"error": "since_ms and as_of_ms are integers (epoch ms), max_rows an integer"}, status=400
            )
        try:
            result = await gateway.run(lambda store: run_report(store, name, params))
        except UnknownReport as exc:
            return web.json_response({"error": str(exc)}, status=404)
        except QueryTooSlow as exc:
            return web.json_response({"error": f"{exc}; ask for a shorter time range"}, status=504)
        except StoreUnavailable as exc:
            return web.json_response({"error": str(exc)}, status=503)
        body: dict[str, Any] = {"columns": result.columns, "rows": [list(row) for row in result.rows]}
        return web.json_response(body)

    app = web.Application()
    app.router.add_get("/health", health)
    app.router.add_get("/reports/{name}", report)
    return app


async def start_query_server(app: web.Application, host: str, port: int) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("analytics report endpoint on http://%s:%d", host, port)
    return runner
