"""tables.rocksdb_files: a partition file keeps the worker's options when it is opened again (Faust's own
opener loses them), and every partition shares one block cache."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from faust.stores.rocksdb import RocksDBOptions
from rocksdict import Rdict

from tables.rocksdb_files import PartitionFiles, shared_cache

MB = 1024 * 1024
ROWS = 6000  # 12 MB: more than RocksDB's default cache holds


def filled(open_db: Callable[[Path], Any], path: Path) -> None:
    """Create the file at ``path`` with ROWS rows of 2 kB on disk, then close it."""
    db = open_db(path)
    for i in range(ROWS):
        db.put(f"contact-{i:05d}".encode(), bytes([i % 251]) * 2048)
    db.flush(wait=True)
    db.close()


def cache_usage(db: Rdict) -> int:
    used = db.property_int_value("rocksdb.block-cache-usage")
    assert used is not None
    return used


def latest_options_file(path: Path) -> str:
    return max(path.glob("OPTIONS-*"), key=lambda p: int(p.name.split("-")[1])).read_text()


def test_faust_reopens_a_file_with_the_default_cache(tmp_path: Path) -> None:
    """The control, and the reason for the module: Faust's opener gives a 2 GB block cache to a new file
    only; reopened, the file reads through RocksDB's default 8 MB cache and without a filter."""
    faust = RocksDBOptions()
    path = tmp_path / "p0"
    filled(faust.open, path)
    db = faust.open(path)
    try:
        assert db.property_int_value("rocksdb.block-cache-capacity") == 8 * MB
        assert "filter_policy=nullptr" in latest_options_file(path)
    finally:
        db.close()


def test_a_reopened_file_keeps_the_cache_the_filter_and_the_compression(tmp_path: Path) -> None:
    open_db = PartitionFiles(RocksDBOptions(), shared_cache(64))
    path = tmp_path / "p0"
    filled(open_db, path)
    db = open_db(path)
    try:
        assert db.property_int_value("rocksdb.block-cache-capacity") == 64 * MB
        options = latest_options_file(path)
        assert "filter_policy=bloomfilter" in options
        assert "compression=kLZ4Compression" in options
        assert db.get(b"contact-00007") == bytes([7]) * 2048
    finally:
        db.close()


def test_partitions_share_one_cache(tmp_path: Path) -> None:
    for partition in (0, 1):
        filled(PartitionFiles(RocksDBOptions(), shared_cache(64)), tmp_path / f"p{partition}")
    open_db = PartitionFiles(RocksDBOptions(), shared_cache(64))  # a cache that holds nothing of them yet
    first, second = open_db(tmp_path / "p0"), open_db(tmp_path / "p1")
    try:
        assert cache_usage(first) < MB
        values = first.get([f"contact-{i:05d}".encode() for i in range(ROWS)])
        assert values is not None
        assert values[ROWS - 1] == bytes([(ROWS - 1) % 251]) * 2048
        used = cache_usage(first)
        assert used > ROWS * 2048  # every row read is held in the cache, uncompressed
        assert cache_usage(second) == used  # the same cache
    finally:
        first.close()
        second.close()


def test_a_flush_puts_what_it_writes_in_the_cache(tmp_path: Path) -> None:
    open_db = PartitionFiles(RocksDBOptions(), shared_cache(64))
    db = open_db(tmp_path / "p0")
    try:
        for i in range(ROWS):
            db.put(f"contact-{i:05d}".encode(), bytes([i % 251]) * 2048)
        assert cache_usage(db) < MB
        db.flush(wait=True)
        assert cache_usage(db) > ROWS * 2048
    finally:
        db.close()
