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

from engine.actions import CONTACT_CHANNELS
from engine.topics import CONSENT, WORKFLOWS
from sinks.attempts import ActionExecutor
from sinks.consent_view import ConsentView
from sinks.exceptions import SinkConfigError
from sinks.output import Output
from sinks.policy_rates import PolicyRates
from sinks.ratelimit import TokenBucket
from sinks.registry import build_handler
from sinks.runner import ChannelRunner
from sinks.settings import SinkSettings
from sinks.store import SinkStore
from tables.follower import TopicFollower

log = logging.getLogger(__name__)
READY_LINE = "switchyard sinks: ready"
FOLLOW_TIMEOUT_S = 30.0


async def _wait_loaded(followers: list[TopicFollower]) -> None:
    """The consent view and the policy read to their ends before the first action; a topic that cannot be
    read in time is reported and followed on (the engine checked consent and caps when it decided)."""
    for follower in followers:
        try:
            await asyncio.wait_for(follower.loaded.wait(), FOLLOW_TIMEOUT_S)
        except TimeoutError:
            log.warning("%s not read to its end within %.0f s; starting, still following it",
                        follower.topic, FOLLOW_TIMEOUT_S)  # fmt: skip


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


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
            consent = ConsentView(self.settings.bootstrap, self.settings.topic(CONSENT))
            buckets: dict[str, TokenBucket] = {}
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
                buckets[channel] = bucket
                recheck = consent.refusal if channel in CONTACT_CHANNELS else None
                executor = ActionExecutor(channel, handler, store, self.settings.retry, bucket, recheck)
                executors.append(executor)
                self.runners[channel] = ChannelRunner(self.settings, channel, executor, output)
                self.report.started.append(channel)
            if self.report.refused and (self.strict or not self.runners):
                raise SinkConfigError("; ".join(self.report.refused.values()))
            operator_rates = {channel: self.settings.rate_for(channel) for channel in buckets}
            catalog = self.settings.topic(WORKFLOWS)
            rates = PolicyRates(self.settings.bootstrap, catalog, buckets, operator_rates)
            followers = [(rates.follower, asyncio.create_task(rates.run(), name="sink-policy"))]
            if CONTACT_CHANNELS & set(self.runners):
                followers.append((consent.follower, asyncio.create_task(consent.run(), name="sink-consent")))
            stack.push_async_callback(_cancel, [task for _, task in followers])
            await _wait_loaded([follower for follower, _ in followers])
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
