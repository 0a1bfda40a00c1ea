"""The `switchyard analytics` process: the writer plus its report endpoint, until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web

from sinks.analytics.config import WriterConfig
from sinks.analytics.dsn import redact
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
        if config.query_port:
            app = build_app(gateway, writer.stats, config.api_token)
            runner = await start_query_server(app, config.query_host, config.query_port)
        await writer.run(stop)
    finally:
        if runner is not None:
            await runner.cleanup()
        await gateway.close()
        log.info("analytics writer stopped: %s", writer.stats.as_dict())


def run_service(config: WriterConfig) -> None:
    asyncio.run(serve(config))
