"""The `timers` table: each contact's pending wake-ups, in the contact's own partition.

Key contact_id, value a JSON list of [due_ms, token, kind]. It is the durable due-index the timer
service rebuilds its queue from when partitions are assigned; the contact's state stays the truth
(a wake-up whose token the state no longer expects is ignored).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import faust
import orjson

from tables.direct import DirectTable

TIMERS_TABLE = "timers"
Pending = list[tuple[int, str, str]]


def define_timers_table(app: faust.App, partitions: int) -> Any:
    return app.Table(
        TIMERS_TABLE,
        key_type=bytes,
        value_type=bytes,
        partitions=partitions,
        help="per-contact pending timers [due, token, kind]",
    )


class TimerStore:
    def __init__(self, table: DirectTable) -> None:
        self.table = table

    def save(self, partition: int, contact_id: str, pending: Pending) -> None:
        """Replace the contact's pending list; call only when it changed (an empty list deletes the row)."""
        value = orjson.dumps(sorted(pending)) if pending else None
        self.table.put(partition, contact_id.encode(), value)

    def scan(self, chunk: int) -> Iterator[list[tuple[int, str, int, str, str]]]:
        """(partition, contact, due, token, kind) of every timer in the partitions this worker holds, in
        lists read ``chunk`` rows at a time (DirectTable.scan: the event loop may run between two lists)."""
        for rows in self.table.scan(chunk):
            yield [
                (partition, key.decode(), int(due), str(token), str(kind))
                for partition, key, value in rows
                for due, token, kind in orjson.loads(value)
            ]
