"""Direct, partition-explicit access to a Faust table's RocksDB files and changelog.

Faust's per-key table API costs ~60 µs a write (changelog buffer, sensors, partition checks) and
derives the partition from the stream's current event; for batched processing we need neither. Faust
still owns the table's lifecycle: it opens a partition's RocksDB file on assignment, restores it from
the changelog, and closes it on revocation. We read and write those same files, send the changelog
record ourselves with the partition named, and record the persisted changelog offset when Kafka acks it,
as Faust does, so its recovery finds what it expects. Changelog records are not sent one by one:
they go to a `ChangelogSink` and leave with the batch's other records.

The files are opened by tables/rocksdb_files.py, without RocksDB's write-ahead log, as Kafka Streams
writes its stores: the changelog is what makes a write durable. A crash loses only the writes since
RocksDB last flushed its memtables, and always a tail of them (the persisted changelog offset, written
like any row, goes with them), so Faust's recovery replays the changelog from an older offset and ends at
the same rows. A clean close flushes, and `flush_soon` (every FLUSH_EVERY_S, from the worker) bounds what
a crash leaves to replay. Without the log a put costs about a quarter as much (1.5 against 6 µs, measured
alone).

This touches private members of Faust's RocksDB store (`_db_for_partition`, `_dbs`, `rocksdb_options`);
the tests of recovery from the changelog (tests/agents) would fail if a Faust upgrade changed them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

import rocksdict
from faust.types import TP

from tables.rocksdb_files import DEFAULT_CACHE_MB, PartitionFiles, shared_cache

# Kafka Streams flushes its stores on each commit (every 30 s by default). Each restart after kill -9 in
# `switchyard loadtest --kills 5` spent 2-3.4 s replaying the changelog with 10 s here (and with 30 s).
FLUSH_EVERY_S = 10.0


class ChangelogSink(Protocol):
    """Where changelog records go (agents.outbox.Outbox): collected now, sent with the batch."""

    def add(
        self, topic: str, key: bytes | None, value: bytes | None,
        headers: list[tuple[str, bytes]] | None = None, partition: int | None = None,
    ) -> None: ...  # fmt: skip

    def on_delivered(self, topic: str, callback: Callable[[int, int], None]) -> None: ...


class DirectTable:
    def __init__(
        self, app: Any, table: Any, changelog: ChangelogSink, cache: rocksdict.Cache | None = None
    ) -> None:
        self.app = app
        self.table = table
        self.changelog = changelog
        self._acked: dict[int, int] = {}  # partition -> highest changelog offset acknowledged, not yet noted
        changelog.on_delivered(self.changelog_topic, self._delivered)
        options = getattr(table.data, "rocksdb_options", None)  # None: not a RocksDB store (unit tests)
        if options is not None:
            options.open = PartitionFiles(options, cache or shared_cache(DEFAULT_CACHE_MB))

    @property
    def changelog_topic(self) -> str:
        return str(self.table.changelog_topic.get_topic_name())

    def get(self, partition: int, key: bytes) -> bytes | None:
        value: bytes | None = self.table.data._db_for_partition(partition).get(key)
        return value

    def get_many(self, partition: int, keys: Sequence[bytes]) -> list[bytes | None]:
        """The values of ``keys`` (None where missing), in one RocksDB multi-get."""
        values: list[bytes | None] = self.table.data._db_for_partition(partition).get(list(keys))
        return values

    def put(self, partition: int, key: bytes, value: bytes | None) -> None:
        """Write locally now; the changelog record goes out with the batch's flush (offsets are committed
        only after a producer flush, so it is in Kafka before the events that caused it count as done)."""
        db = self.table.data._db_for_partition(partition)
        if value is None:
            db.delete(key)
        else:
            db.put(key, value)
        self.changelog.add(self.changelog_topic, key, value, partition=partition)

    def _delivered(self, partition: int, offset: int) -> None:
        if offset > self._acked.get(partition, -1):
            self._acked[partition] = offset

    def note_persisted(self) -> None:
        """Record the acknowledged changelog offsets in the partitions' files, as Faust does for its own
        writes, so recovery replays the changelog only past them. Once per batch: it is a RocksDB write."""
        acked, self._acked = self._acked, {}
        held = self.table.data._dbs
        for partition, offset in acked.items():
            if partition in held:  # not for a partition revoked meanwhile (that would reopen its file)
                self.table.data.set_persisted_offset(TP(self.changelog_topic, partition), offset)

    def flush_soon(self) -> None:
        """Have RocksDB write the memtables of the open partitions to disk, in its own threads (no wait)."""
        for db in list(self.table.data._dbs.values()):
            db.flush(wait=False)

    def scan(self, chunk: int) -> Iterator[list[tuple[int, bytes, bytes]]]:
        """The rows of the partitions this worker holds, as lists of at most ``chunk`` (partition, key,
        value) in key order. No RocksDB iterator outlives a list, so the caller may let the event loop run
        between two: a partition revoked meanwhile is skipped from then on, and each list is read as the
        files are when it is taken."""
        if chunk < 1:
            raise ValueError("chunk must be at least 1")
        data = self.table.data
        for partition in list(data._dbs):
            start: bytes | None = None
            more = True
            while more:
                db = data._dbs.get(partition)
                if db is None:
                    break
                rows, more = _rows_from(db, partition, start, chunk, data.offset_key)
                # Faust closes a revoked partition's file by dropping its last reference (the store pops it
                # and collects): none may wait here across the yield, or its lock would outlive it.
                del db
                if rows:
                    yield rows
                    start = rows[-1][1] + b"\0"  # the smallest key after the last one read


def _rows_from(
    db: Any, partition: int, start: bytes | None, chunk: int, skip: bytes
) -> tuple[list[tuple[int, bytes, bytes]], bool]:
    """Up to ``chunk`` rows of ``db`` from key ``start`` on (``skip`` left out); whether more may follow."""
    rows: list[tuple[int, bytes, bytes]] = []
    for key, value in db.items(from_key=start):
        if key == skip:
            continue
        rows.append((partition, key, value))
        if len(rows) == chunk:
            return rows, True
    return rows, False
