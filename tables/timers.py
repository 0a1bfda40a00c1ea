"""The `timers` table: each contact's pending wake-ups, in the contact's own partition.

Key contact_id, value a JSON list of [due_ms, token, kind]. It is the durable due-index the timer
service rebuilds its heap from when partitions are assigned; the contact's state stays the truth
(a wake-up whose token the state no longer expects is ignored).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import faust
import orjson

from tables.contacts import in_partition_of

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
    def __init__(self, table: Any) -> None:
        self.table = table

    def save(self, contact_id: str, pending: Pending, event: Any) -> None:
        """Replace the contact's pending list; call only when it changed (an empty list deletes the row)."""
        with in_partition_of(event):
            key = contact_id.encode()
            if pending:
                self.table[key] = orjson.dumps(sorted(pending))
            else:
                del self.table[key]

    def scan(self) -> Iterator[tuple[str, int, str, str]]:
        """(contact, due, token, kind) for every timer in the partitions this worker holds."""
        for key, value in self.table.data.items():
            for due, token, kind in orjson.loads(value):
                yield key.decode(), int(due), str(token), str(kind)
