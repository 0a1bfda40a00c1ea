"""The `contacts` table: one row per contact (profile, live runs, last applied offset), in the contact's
partition, changelogged to `<app id>-contacts-changelog`."""

from __future__ import annotations

from typing import Any

import faust

from engine.types import ContactState
from tables.codec import decode_state, encode_state
from tables.direct import DirectTable

CONTACTS_TABLE = "contacts"


def define_contacts_table(app: faust.App, partitions: int) -> Any:
    return app.Table(
        CONTACTS_TABLE,
        key_type=bytes,
        value_type=bytes,
        partitions=partitions,
        help="per-contact state: profile, live runs, last applied offset",
    )


class ContactStore:
    def __init__(self, table: DirectTable) -> None:
        self.table = table

    def load_many(self, partition: int, contact_ids: list[str]) -> list[ContactState | None]:
        """The states of ``contact_ids`` (None for a contact never seen), read in one go."""
        raws = self.table.get_many(partition, [contact_id.encode() for contact_id in contact_ids])
        return [decode_state(raw) if raw is not None else None for raw in raws]

    def save(self, partition: int, state: ContactState) -> None:
        self.table.put(partition, state["contact_id"].encode(), encode_state(state))
