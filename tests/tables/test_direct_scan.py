"""DirectTable.scan: a table's rows in chunks between which the event loop may run. Real RocksDB files
(Faust's options); the table is the slice of Faust's store that DirectTable reads."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from faust.stores.rocksdb import RocksDBOptions

from tests.tables.fixtures import OFFSET_KEY, direct_table


@pytest.mark.parametrize("chunk", [1, 3, 5, 1000])
def test_every_row_comes_once_in_chunks_without_the_offset_key(tmp_path: Path, chunk: int) -> None:
    table, data = direct_table(tmp_path, 2)
    rows = {(p, f"c{i:03d}".encode(), f"v{p}.{i}".encode()) for p in (0, 1) for i in range(10 + 5 * p)}
    for partition, key, value in rows:
        table.put(partition, key, value)
    for db in data._dbs.values():
        db.put(OFFSET_KEY, b"42")
    chunks = list(table.scan(chunk))
    assert all(1 <= len(c) <= chunk for c in chunks)
    read = [row for c in chunks for row in c]
    assert sorted(read) == sorted(rows) and len(read) == len(rows)
    with pytest.raises(ValueError):
        next(table.scan(0))


def test_rows_written_between_chunks_are_read_where_the_cursor_has_not_been(tmp_path: Path) -> None:
    table, _ = direct_table(tmp_path, 1)
    for i in range(0, 20, 2):
        table.put(0, f"c{i:03d}".encode(), b"old")
    scan = table.scan(4)
    first = next(scan)
    assert [key for _, key, _ in first] == [b"c000", b"c002", b"c004", b"c006"]
    table.put(0, b"c001", b"behind the cursor")  # read by the next rebuild, not this one
    table.put(0, b"c009", b"ahead of the cursor")
    table.put(0, b"c010", b"changed")
    rest = [row for c in scan for row in c]
    assert [(key, value) for _, key, value in rest] == [
        (b"c008", b"old"), (b"c009", b"ahead of the cursor"), (b"c010", b"changed"), (b"c012", b"old"),
        (b"c014", b"old"), (b"c016", b"old"), (b"c018", b"old"),
    ]  # fmt: skip


def test_a_partition_revoked_between_chunks_is_skipped_and_its_file_released(tmp_path: Path) -> None:
    """Faust closes a revoked partition's file by dropping it and collecting: the scan must not hold it
    across a chunk, or the file's lock would stop the partition from being opened again."""
    table, data = direct_table(tmp_path, 2)
    for p in (0, 1):
        for i in range(10):
            table.put(p, f"c{i:03d}".encode(), b"v")
    scan = table.scan(3)
    first = next(scan)
    assert {p for p, _, _ in first} == {0}
    data._dbs.pop(0)  # as Faust's revoke_partitions does
    gc.collect()
    reopened = RocksDBOptions().open(tmp_path / "p0")  # raises if something still holds the lock
    reopened.close()
    rest = [row for c in scan for row in c]
    assert {p for p, _, _ in rest} == {1} and len(rest) == 10
