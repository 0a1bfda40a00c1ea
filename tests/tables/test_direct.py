"""tables.direct: the partition files are written without RocksDB's write-ahead log, and `flush_soon` makes
what was written durable. Each case writes in a child process that then dies without closing anything,
as kill -9 would leave it, and reads the files back in a fresh one."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from faust.stores.rocksdb import RocksDBOptions

WRITE_AND_DIE = """
import os, sys, time
from pathlib import Path
from types import SimpleNamespace
from faust.stores.rocksdb import RocksDBOptions
from tables.direct import DirectTable
from tables.rocksdb_files import PartitionFiles, shared_cache

path, mode = Path(sys.argv[1]), sys.argv[2]
open_db = RocksDBOptions().open if mode == "logged" else PartitionFiles(RocksDBOptions(), shared_cache(8))
db = open_db(path)
db.put(b"contact-1", b"state")
if mode == "flushed":
    class Sink:
        def on_delivered(self, topic, callback): pass
    topic = SimpleNamespace(get_topic_name=lambda: "contacts-changelog")
    table = SimpleNamespace(data=SimpleNamespace(_dbs={0: db}), changelog_topic=topic)
    DirectTable(None, table, Sink()).flush_soon()
    deadline = time.monotonic() + 20
    in_memory = ("rocksdb.num-entries-active-mem-table", "rocksdb.num-immutable-mem-table")
    while any(db.property_int_value(name) for name in in_memory) and time.monotonic() < deadline:
        time.sleep(0.05)
os._exit(0)
"""


def written_then_killed(tmp_path: Path, mode: str) -> bytes | None:
    path = tmp_path / "partition-0"
    subprocess.run([sys.executable, "-c", textwrap.dedent(WRITE_AND_DIE), str(path), mode], check=True,
                   cwd=Path(__file__).resolve().parents[2], timeout=60)  # fmt: skip
    db = RocksDBOptions().open(path)
    try:
        value: bytes | None = db.get(b"contact-1")
        return value
    finally:
        db.close()


def test_a_logged_write_survives_the_process(tmp_path: Path) -> None:
    """The control: with RocksDB's defaults the write-ahead log keeps the row."""
    assert written_then_killed(tmp_path, "logged") == b"state"


def test_an_unflushed_write_is_gone_with_the_process(tmp_path: Path) -> None:
    """Without the log, only the changelog has it: recovery replays it from the persisted offset."""
    assert written_then_killed(tmp_path, "unlogged") is None


def test_flush_soon_makes_the_open_partitions_durable(tmp_path: Path) -> None:
    assert written_then_killed(tmp_path, "flushed") == b"state"
