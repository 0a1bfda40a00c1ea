"""A batch of rows, kept column by column per table, with the Kafka offsets it covers.

The writer inserts a batch table by table (columnar inserts) and commits `commit_offsets()` only after
every insert was acknowledged.
"""

from __future__ import annotations

from typing import Any

from sinks.analytics.records import TableRows
from sinks.analytics.tables import TABLE_COLUMNS


class ColumnBatch:
    def __init__(self) -> None:
        self.columns: dict[str, list[list[Any]]] = {
            t: [[] for _ in names] for t, names in TABLE_COLUMNS.items()
        }
        self.next_offsets: dict[tuple[str, int], int] = {}  # (topic, partition) -> offset to commit
        self.records = 0
        self.weight = 0  # rows, counting a record without rows as one: what bounds the batch
        self.skipped = 0
        self.opened_at: float | None = None  # monotonic time of the first record

    def add(self, topic: str, partition: int, offset: int, rows: TableRows, now: float) -> None:
        """One Kafka record and the rows made from it (none when it was skipped)."""
        if self.opened_at is None:
            self.opened_at = now
        self.records += 1
        self.weight += max(1, len(rows))
        self.next_offsets[(topic, partition)] = offset + 1
        if not rows:
            self.skipped += 1
        for table, row in rows:
            for column, value in zip(self.columns[table], row, strict=True):
                column.append(value)

    def rows(self, table: str) -> int:
        return len(self.columns[table][0])

    def row_counts(self) -> dict[str, int]:
        return {table: self.rows(table) for table in self.columns}

    def is_due(self, now: float, max_rows: int, max_age_s: float) -> bool:
        """Full (a packed record counts as its rows) or old enough."""
        if self.opened_at is None:
            return False
        return self.weight >= max_rows or now - self.opened_at >= max_age_s

    def age(self, now: float) -> float:
        return 0.0 if self.opened_at is None else now - self.opened_at

    def __len__(self) -> int:
        return self.records
