"""The `progress` table: per partition of `events`, the highest offset the worker has processed.

It exists because Faust's own consumer loop (0.15.3) skips records when partitions move or are sought:
records it drops while the flow is suspended, or that were fetched before a seek, still advance its read
offset, and later commits step over the hole. agents/consumer.py replaces that loop; this table is the
second line: the processor compares each partition's first offset in a batch with it and seeks back
over any hole (agents/gaps.py). Kept per partition, in that
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
