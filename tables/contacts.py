"""The `contacts` table: one row per contact (profile, live runs, last applied offset).

Faust derives a table write's partition (for both the RocksDB file and the changelog record) from the
stream's *current event*. A batch from `take_events` spans partitions, so every read and write here
first makes the contact's own event current; otherwise a contact's state could be filed under another
partition and be lost on the next rebalance.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import faust
from faust.streams import _current_event

from engine.types import ContactState
from tables.codec import decode_state, encode_state

CONTACTS_TABLE = "contacts"


def define_contacts_table(app: faust.App, partitions: int) -> Any:
    return app.Table(
        CONTACTS_TABLE,
        key_type=bytes,
        value_type=bytes,
        partitions=partitions,
        help="per-contact state: profile, live runs, last applied offset",
    )


@contextmanager
def in_partition_of(event: Any) -> Iterator[None]:
    """Make `event` the current event, so table I/O lands in its partition."""
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)


class ContactStore:
    """Read and write contact state through a Faust table, one contact at a time."""

    def __init__(self, table: Any) -> None:
        self.table = table

    def load(self, contact_id: str, event: Any) -> ContactState | None:
        """The contact's state, or None for a contact never seen."""
        with in_partition_of(event):
            raw = self.table.get(contact_id.encode())
        return decode_state(raw) if raw is not None else None

    def save(self, state: ContactState, event: Any) -> None:
        with in_partition_of(event):
            self.table[state["contact_id"].encode()] = encode_state(state)
