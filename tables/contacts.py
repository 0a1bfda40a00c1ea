"""The `contacts` table: one row per contact (profile, live runs, last applied offset), in the contact's
partition, changelogged to `<app id>-contacts-changelog`."""

from __future__ import annotations

from typing import Any

import faust

from engine.types import ContactState
from tables.codec import StateLimits, decode_state, encode_checked
from tables.direct import DirectTable
from tables.exceptions import StateDecodeError

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
    def __init__(self, table: DirectTable, limits: StateLimits | None = None) -> None:
        self.table = table
        self.limits = limits or StateLimits()

    def read_many(self, partition: int, contact_ids: list[str]) -> list[bytes | None]:
        """The stored bytes of ``contact_ids`` (None for a contact never seen), read in one go."""
        return self.table.get_many(partition, [contact_id.encode() for contact_id in contact_ids])

    @staticmethod
    def decode(raw: bytes | None) -> ContactState | StateDecodeError | None:
        """The state of stored bytes (None for None); a row that cannot be read comes back as its
        StateDecodeError, so only that contact is affected."""
        if raw is None:
            return None
        try:
            return decode_state(raw)
        except StateDecodeError as exc:
            return exc

    def encode(self, state: ContactState) -> bytes:
        """The bytes to save; raises StateTooLarge / StateUnencodable (see tables.codec)."""
        return encode_checked(state, self.limits)

    def save(self, partition: int, contact_id: str, raw: bytes) -> None:
        self.table.put(partition, contact_id.encode(), raw)
