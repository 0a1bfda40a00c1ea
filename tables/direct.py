"""Direct, partition-explicit access to a Faust table's RocksDB files and changelog.

Faust's per-key table API costs ~60 µs a write (changelog buffer, sensors, partition checks) and
derives the partition from the stream's current event; for batched processing we need neither. Faust
still owns the table's lifecycle: it opens a partition's RocksDB file on assignment, restores it from
the changelog, and closes it on revocation. We read and write those same files, send the changelog
record ourselves with the partition named, and record the persisted changelog offset when Kafka acks it,
exactly as Faust does, so its recovery finds what it expects.

This touches two private members of Faust's RocksDB store (`_db_for_partition`, `_dbs`); the tests of
recovery from the changelog (tests/agents) would fail if a Faust upgrade changed them.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

from faust.types import TP


class DirectTable:
    def __init__(self, app: Any, table: Any) -> None:
        self.app = app
        self.table = table

    @property
    def changelog_topic(self) -> str:
        return str(self.table.changelog_topic.get_topic_name())

    def get(self, partition: int, key: bytes) -> bytes | None:
        value: bytes | None = self.table.data._db_for_partition(partition).get(key)
        return value

    async def put(self, partition: int, key: bytes, value: bytes | None) -> None:
        """Write locally now; the changelog record is sent (not awaited: offsets commit after a flush)."""
        db = self.table.data._db_for_partition(partition)
        if value is None:
            db.delete(key)
        else:
            db.put(key, value)
        future = await self.app.producer.send(self.changelog_topic, key, value, partition, None, None)
        future.add_done_callback(partial(self._persisted, partition))

    def _persisted(self, partition: int, future: Any) -> None:
        if future.cancelled() or future.exception() is not None:
            return  # the commit's flush raises instead; recovery then replays from the older offset
        self.table.data.set_persisted_offset(TP(self.changelog_topic, partition), future.result().offset)

    def scan(self) -> Iterator[tuple[int, bytes, bytes]]:
        """(partition, key, value) for every row in the partitions this worker holds now."""
        offset_key = self.table.data.offset_key
        for partition, db in list(self.table.data._dbs.items()):
            for key, value in db.items():
                if key != offset_key:
                    yield partition, key, value
