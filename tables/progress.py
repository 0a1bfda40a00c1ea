"""The `progress` table: per partition of `events`, the highest offset the worker has processed.

It exists because Faust (0.15.3) can skip records when partitions move between workers: a fetch that is
in flight while a rebalance suspends the flow advances the consumer's read offset past records it never
delivered, and later commits step over the hole. The processor compares each partition's first offset
in a batch with this table and seeks back over any hole (agents/gaps.py). Kept per partition, in that
partition, so it moves with the partition and is restored from its changelog like the contacts.
"""

from __future__ import annotations

from typing import Any

import faust

from tables.direct import DirectTable

PROGRESS_TABLE = "progress"
KEY = b"processed"


def define_progress_table(app: faust.App, partitions: int) -> Any:
    return app.Table(
        PROGRESS_TABLE,
        key_type=bytes,
        value_type=bytes,
        partitions=partitions,
        help="per events partition: the highest offset processed",
    )


class ProgressStore:
    def __init__(self, table: DirectTable) -> None:
        self.table = table

    def load(self, partition: int) -> int | None:
        raw = self.table.get(partition, KEY)
        return int(raw) if raw is not None else None

    def save(self, partition: int, offset: int) -> None:
        self.table.put(partition, KEY, str(offset).encode())
