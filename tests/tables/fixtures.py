"""Shared by the tables tests: a DirectTable over real RocksDB files (opened as the worker opens them),
without Faust."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from faust.stores.rocksdb import RocksDBOptions

from tables.direct import DirectTable
from tables.rocksdb_files import PartitionFiles, shared_cache

OFFSET_KEY = b"__faust\0offset__"


class ChangelogKept:
    """The changelog sink's interface; this unit test has no Kafka, so records are only kept."""

    def __init__(self) -> None:
        self.records: list[tuple[str, bytes | None, bytes | None, int | None]] = []

    def add(self, topic: str, key: bytes | None, value: bytes | None, headers: Any = None,
            partition: int | None = None) -> None:  # fmt: skip
        self.records.append((topic, key, value, partition))

    def on_delivered(self, topic: str, callback: Any) -> None:
        pass


def direct_table(tmp_path: Path, partitions: int) -> tuple[DirectTable, SimpleNamespace]:
    open_db = PartitionFiles(RocksDBOptions(), shared_cache(8))  # as the worker opens them
    dbs = {p: open_db(tmp_path / f"p{p}") for p in range(partitions)}
    data = SimpleNamespace(_dbs=dbs, offset_key=OFFSET_KEY, _db_for_partition=dbs.__getitem__)
    table = SimpleNamespace(data=data, changelog_topic=SimpleNamespace(get_topic_name=lambda: "t-changelog"))
    return DirectTable(None, table, ChangelogKept()), data
