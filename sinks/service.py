"""`switchyard sinks`: start the runners of the chosen channels in one process and run them until stopped.

A channel whose settings are missing is refused at start-up with a message saying what to set; its
actions stay in Kafka, unacknowledged. Asked for explicitly (``--channel``), a refused channel is an
error; running every channel, the others start and the refused ones are reported.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

from sinks.attempts import ActionExecutor
from sinks.exceptions import SinkConfigError
from sinks.output import Output
from sinks.ratelimit import TokenBucket
from sinks.registry import build_handler
from sinks.runner import ChannelRunner
from sinks.settings import SinkSettings
from sinks.store import SinkStore

log = logging.getLogger(__name__)
READY_LINE = "switchyard sinks: ready"


@dataclass
class StartReport:
    started: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)


class SinkService:
    def __init__(self, settings: SinkSettings, channels: Sequence[str], strict: bool) -> None:
        self.settings = settings
        self.channels = list(channels)
        self.strict = strict
        self.runners: dict[str, ChannelRunner] = {}
        self.report = StartReport()

    async def run(self, stop: asyncio.Event) -> StartReport:
        async with AsyncExitStack() as stack:
            output = Output(self.settings.bootstrap, self.settings.topic_prefix)
            executors = []
            for channel in self.channels:
                store = SinkStore(self.settings.store_dir(channel))
                stack.callback(store.close)
                handler = build_handler(channel, self.settings, store)
                try:
                    await handler.start()
                except SinkConfigError as exc:
                    await handler.close()
                    self.report.refused[channel] = str(exc)
                    log.error("%s not started: %s", channel, exc)
                    continue
                stack.push_async_callback(handler.close)
                bucket = TokenBucket(self.settings.rate_for(channel), self.settings.rate_burst)
                executor = ActionExecutor(channel, handler, store, self.settings.retry, bucket)
                executors.append(executor)
                self.runners[channel] = ChannelRunner(self.settings, channel, executor, output)
                self.report.started.append(channel)
            if self.report.refused and (self.strict or not self.runners):
                raise SinkConfigError("; ".join(self.report.refused.values()))
            await output.start()
            stack.push_async_callback(output.stop)
            tasks: list[asyncio.Future[Any]] = [
                asyncio.create_task(r.run(stop), name=f"sink-{c}") for c, r in self.runners.items()
            ]
            ready: asyncio.Future[Any] = asyncio.ensure_future(
                asyncio.gather(*(r.ready.wait() for r in self.runners.values()))
            )
            done, _ = await asyncio.wait([ready, *tasks], return_when=asyncio.FIRST_COMPLETED)
            if ready in done:
                log.info("%s (channels: %s)", READY_LINE, ", ".join(self.report.started))
            else:
                ready.cancel()
            await asyncio.gather(*tasks)
        return self.report
