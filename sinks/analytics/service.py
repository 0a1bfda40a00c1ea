"""The `switchyard analytics` process: the writer plus its report endpoint, until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import errno
import logging
import signal

from aiohttp import web

from sinks.analytics.config import WriterConfig
from sinks.analytics.dsn import redact
from sinks.analytics.exceptions import ReportPortUnavailable
from sinks.analytics.gateway import StoreGateway
from sinks.analytics.query_server import build_app, start_query_server
from sinks.analytics.writer import AnalyticsWriter

log = logging.getLogger("switchyard.analytics")


async def serve(config: WriterConfig, stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    gateway = StoreGateway(config.dsn)
    writer = AnalyticsWriter(config, gateway)
    runner: web.AppRunner | None = None
    log.info("analytics writer starting: %s -> %s", config.bootstrap, redact(config.dsn))
    try:
        if config.query_port:  # before the writer runs: a port we cannot have stops us before Kafka
            app = build_app(gateway, writer.stats, config.api_token)
            runner = await _listen(app, config.query_host, config.query_port)
        await writer.run(stop)
    finally:
        if runner is not None:
            await runner.cleanup()
        await gateway.close()
        log.info("analytics writer stopped: %s", writer.stats.as_dict())


async def _listen(app: web.Application, host: str, port: int) -> web.AppRunner:
    """The report endpoint, listening; ReportPortUnavailable when the port is not to be had (no socket
    is left open: the runner has none before its site starts)."""
    try:
        return await start_query_server(app, host, port)
    except OSError as exc:
        why = "is in use" if exc.errno == errno.EADDRINUSE else f"cannot be used ({exc.strerror or exc})"
        raise ReportPortUnavailable(
            f"the analytics report port {host}:{port} {why}; set SWITCHYARD_ANALYTICS_PORT to a free port "
            "(0 turns the report endpoint off)"
        ) from None


def run_service(config: WriterConfig) -> None:
    """The `switchyard analytics` process until stopped; ReportPortUnavailable before anything runs when
    the report port cannot be had."""
    asyncio.run(serve(config))
