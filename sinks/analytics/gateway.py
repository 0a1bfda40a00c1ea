"""Runs every ClickHouse call of the writer process on one thread, connecting (and migrating) lazily.

clickhouse-connect's client is synchronous and chdb has no async client; one worker thread keeps the
event loop (Kafka heartbeats, the report endpoint) free and serialises inserts and report queries.
A failed connection or statement raises StoreUnavailable; for a server DSN the client is dropped and
rebuilt on the next call, for the embedded engine it is kept (it lives in this process).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sinks.analytics.dsn import is_embedded, redact
from sinks.analytics.exceptions import StoreUnavailable
from sinks.analytics.migrations import prepare
from sinks.analytics.store import AnalyticsStore

log = logging.getLogger("switchyard.analytics")
T = TypeVar("T")


class StoreGateway:
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._store: AnalyticsStore | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clickhouse")

    def _connected(self) -> AnalyticsStore:
        if self._store is None:
            store = AnalyticsStore.connect(self.dsn)
            try:
                applied = prepare(store)
            except StoreUnavailable:
                store.close()
                raise
            if applied:
                log.info("applied analytics migrations %s on %s", applied, redact(self.dsn))
            self._store = store
        return self._store

    def _call(self, operation: Callable[[AnalyticsStore], T]) -> T:
        store = self._connected()
        try:
            return operation(store)
        except StoreUnavailable:
            if not is_embedded(self.dsn):
                self._store = None
                store.close()
            raise

    async def run(self, operation: Callable[[AnalyticsStore], T]) -> T:
        """`operation(store)` on the ClickHouse thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._call, operation)

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=True)

    def _close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
