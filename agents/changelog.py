"""Views of topics as they stand now for the CLI, the demo and tests: the latest value per key of a
compacted topic, the contacts' states from their changelog (agents/topic_reader.py reads the records).

This sees what the workers have durably written, without asking a running worker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection

from agents.topic_reader import Record, read_to_end
from engine.types import ContactState
from tables.codec import decode_state
from tables.contacts import CONTACTS_TABLE


def changelog_topic(app_id: str, table: str) -> str:
    """Faust's naming rule for a table's changelog topic."""
    return f"{app_id}-{table}-changelog"


def latest_by_key(records: list[Record], keys: Collection[bytes] | None = None) -> dict[bytes, bytes]:
    """A compacted view: the last value per key, tombstones removing it."""
    latest: dict[bytes, bytes] = {}
    for record in records:
        if record.key is None or (keys is not None and record.key not in keys):
            continue
        if record.value is None:
            latest.pop(record.key, None)
        else:
            latest[record.key] = record.value
    return latest


def read_contacts(
    bootstrap: str, app_id: str, contact_ids: Collection[str] | None = None
) -> dict[str, ContactState]:
    keys = None if contact_ids is None else {c.encode() for c in contact_ids}
    records = asyncio.run(read_to_end(bootstrap, changelog_topic(app_id, CONTACTS_TABLE)))
    return {key.decode(): decode_state(value) for key, value in latest_by_key(records, keys).items()}
