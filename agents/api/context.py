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
from agents.catalog import parse_catalog, parse_policies
from agents.definitions import DefinitionCache
from agents.partitioning import partition_for
from engine.events import DAY_MS, Limits
from engine.types import ContactState
from tables.codec import decode_state


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
    dead_letter_topic: str
    recommendations_topic: str = "recommendations"
    clock: Callable[[], int] = field(default=wall_clock_ms)

    async def catalog(self) -> dict[tuple[str, int], dict[str, Any]]:
        """Every definition in the `workflows` topic, as the worker follows it."""
        await self._catalog_loaded()
        return parse_catalog(dict(self.definitions.records))[0]

    async def policies(self) -> dict[int, dict[str, Any]]:
        """Every published workspace policy document, by version."""
        await self._catalog_loaded()
        return parse_policies(dict(self.definitions.records))

    async def _catalog_loaded(self) -> None:
        try:
            await asyncio.wait_for(self.definitions.loaded.wait(), 30)
        except TimeoutError:
            raise ApiError(503, "catalog_loading", "the workflow catalog is still loading") from None

    async def write_catalog(self, record: tuple[bytes, bytes]) -> None:
        """Write one catalog record and wait until the worker's cache has it (read-your-writes)."""
        await self.kafka.send_records(self.workflows_topic, [record])
        deadline = time.monotonic() + self.config.write_timeout_s
        key, value = record
        while self.definitions.records.get(key) != value:
            if time.monotonic() > deadline:
                raise ApiError(504, "catalog_lag", "written, but the worker has not read it back yet")
            await asyncio.sleep(0.05)

    async def contact_state(self, contact_id: str) -> ContactState | None:
        """The contact's state as the worker last durably wrote it (the contacts table's changelog)."""
        key = contact_id.encode()
        state = None
        for record in await self.kafka.read(self.contacts_changelog, self.partition_of(key), key):
            state = decode_state(record.value) if record.value is not None else None
        return state

    def event_limits(self) -> Limits:
        """The event contract's limits for what arrives now: at most a day ahead of this clock."""
        return Limits(max_bytes=self.max_event_bytes, max_ts=self.clock() + DAY_MS)

    def partition_of(self, key: bytes) -> int:
        return partition_for(key, self.partitions)


CONTEXT = web.AppKey("switchyard_api", ApiContext)


def context_of(request: web.Request) -> ApiContext:
    return request.app[CONTEXT]
