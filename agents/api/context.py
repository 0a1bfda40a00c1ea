"""What every route handler can reach: topic names, the worker's definition cache, Kafka, the config."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from agents.api.config import ApiConfig
from agents.api.exceptions import ApiError
from agents.api.kafka_io import KafkaGateway
from agents.catalog import parse_catalog
from agents.definitions import DefinitionCache


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class ApiContext:
    config: ApiConfig
    definitions: DefinitionCache
    kafka: KafkaGateway
    events_topic: str
    workflows_topic: str
    analytics_topic: str
    contacts_changelog: str
    partitions: int
    max_event_bytes: int
    clock: Callable[[], int] = field(default=wall_clock_ms)

    async def catalog(self) -> dict[tuple[str, int], dict[str, Any]]:
        """Every definition in the `workflows` topic, as the worker follows it."""
        try:
            await asyncio.wait_for(self.definitions.loaded.wait(), 30)
        except TimeoutError:
            raise ApiError(503, "catalog_loading", "the workflow catalog is still loading") from None
        return parse_catalog(dict(self.definitions.records))[0]

    async def write_catalog(self, record: tuple[bytes, bytes]) -> None:
        """Write one catalog record and wait until the worker's cache has it (read-your-writes)."""
        await self.kafka.send_records(self.workflows_topic, [record])
        deadline = time.monotonic() + self.config.write_timeout_s
        key, value = record
        while self.definitions.records.get(key) != value:
            if time.monotonic() > deadline:
                raise ApiError(504, "catalog_lag", "written, but the worker has not read it back yet")
            await asyncio.sleep(0.05)


CONTEXT = web.AppKey("switchyard_api", ApiContext)


def context_of(request: web.Request) -> ApiContext:
    return request.app[CONTEXT]
