"""How the worker opens its tables' RocksDB files (Faust opens one per table partition on assignment).

Faust's own opener (faust-streaming 0.15, rocksdict driver) passes its options as the database's options
only. When rocksdict reopens an existing database it takes the default column family's options from the
database's OPTIONS file instead, and that file holds neither a block cache nor a filter policy. So from a
worker's first restart on, every partition was read through RocksDB's default 8 MB block cache and without
bloom filters: most reads decompressed a block again, and a read looked into every L0 file. Here the same
options go to the default column family too, so they hold on every open, and:
- one LRU block cache is shared by all the worker's partitions and tables, bounded in total (Faust's
  options make a 2 GB cache per partition, unbounded in sum);
- bloom filters of 10 bits per key (about 1 % false positives; Faust asks for 3 bits per key, and a
  reopened file had none);
- LZ4 compression, which RocksDB reads back faster than its default Snappy at nearly the same size;
- the blocks a memtable flush writes go into the block cache as well (`prepopulate_block_cache`): each
  event of a contact reads its state and writes it back, and the worker flushes its memtables every 10 s,
  so without that nearly every read of a contact seen before would miss the cache;
- no write-ahead log (tables/direct.py says why).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import rocksdict

BLOOM_BITS_PER_KEY = 10
# A contact's row is about 2.3 kB: 512 MB holds the rows of about 200,000 contacts, uncompressed.
DEFAULT_CACHE_MB = 512


class PartitionFiles:
    """The opener Faust calls for a table partition's file (`RocksDBOptions.open`), with its other options
    (open files, write buffers, file sizes) as Faust sets them."""

    def __init__(self, store_options: Any, cache: rocksdict.Cache) -> None:
        self.store_options = store_options  # faust.stores.rocksdb.RocksDBOptions
        self.cache = cache

    def options(self) -> rocksdict.Options:
        options: rocksdict.Options = self.store_options.as_options()
        table = rocksdict.BlockBasedOptions()
        table.set_block_cache(self.cache)
        table.set_bloom_filter(BLOOM_BITS_PER_KEY, False)
        options.set_block_based_table_factory(table)
        options.set_compression_type(rocksdict.DBCompressionType.lz4())
        return options

    def __call__(self, path: Path, *, read_only: bool = False) -> rocksdict.Rdict:
        """Open (or create) the file at ``path`` for reading and writing; ``read_only`` is accepted for
        Faust's call and ignored, as Faust's rocksdict opener ignores it."""
        options = self.options()
        ttl = self.store_options.ttl
        access = rocksdict.AccessType.read_write() if ttl is None else rocksdict.AccessType.with_ttl(ttl)
        db = rocksdict.Rdict(
            str(path), options=options, column_families={"default": options}, access_type=access
        )
        # Not among rocksdict's table options; RocksDB takes it as a mutable option of the open database.
        db.set_options({"block_based_table_factory": "{prepopulate_block_cache=kFlushOnly;}"})
        # Unlogged from the first write on, recovery's included: a logged write after an unlogged one could
        # outlive it, and a crash would then not lose only a tail of the writes (tables/direct.py).
        writes = rocksdict.WriteOptions()
        writes.disable_wal = True  # type: ignore[assignment,method-assign]  # a property; the stub says method
        db.set_write_options(writes)
        return db


def shared_cache(megabytes: int) -> rocksdict.Cache:
    """One LRU block cache of ``megabytes`` for all of a worker's partition files, filled as they are read."""
    return rocksdict.Cache(megabytes * 1024 * 1024)
