"""Benchmark of reading contact states from reopened partition files: the worker's opener
(tables/rocksdb_files.py) against Faust's own (the baseline, measured in the same run on the same rows).

Each opener gets its own file of ``--rows`` JSON rows of about 2.3 kB (the median contact state), written
and flushed in three rounds (the worker's periodic flush leaves several files), then closed and opened
again, as after a worker's restart. The rows are then read twice in shuffled multi-gets of ``--chunk``
keys, as the worker reads a batch's contacts of one partition: first reads (nothing cached) and reads
again. Then every row is written again and flushed, and read once more: the worker's pattern, where each
event of a contact reads its state and writes it back, and the memtables are flushed every 10 s. Pure CPU
and the OS page cache, no broker.

    .venv/bin/python -m loadtest.state_files_bench [--rows 12500] [--chunk 250]
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson
from faust.stores.rocksdb import RocksDBOptions

from loadtest.percentiles import percentile
from loadtest.report import format_table
from tables.rocksdb_files import DEFAULT_CACHE_MB, PartitionFiles, shared_cache

Opener = Callable[[Path], Any]
PHASES = ("first reads", "reads again", "reads after rewrite")


def state_like_row(rng: random.Random, index: int) -> bytes:
    """About 2.3 kB of JSON with a contact state's mix of strings, counters and floats."""
    doc = {
        "v": 3, "contact_id": f"contact-{index:07d}", "offset": rng.randrange(10**6),
        "profile": {"attrs": {"email": f"user{index}@example.test", "plan": rng.choice("abc"),
                              "city": rng.choice(["Lisbon", "Oslo", "Quito", "Osaka"])},
                    "counts": {f"event.type-{k}": rng.randrange(50) for k in range(24)}},
        "ml": {"x": [round(rng.random(), 9) for _ in range(115)], "seen": rng.randrange(10**12)},
        "runs": {f"wf-{k}": {"node": f"step-{rng.randrange(9)}", "since": rng.randrange(10**12)}
                 for k in range(3)},
    }  # fmt: skip
    return orjson.dumps(doc)


def fill(open_db: Opener, path: Path, rows: list[bytes]) -> list[bytes]:
    """Write ``rows`` in three flushed rounds (all, then every third, then every fifth again); their keys."""
    keys = [f"contact-{i:07d}".encode() for i in range(len(rows))]
    db = open_db(path)
    for step in (1, 3, 5):
        for key, row in zip(keys[::step], rows[::step], strict=True):
            db.put(key, row)
        db.flush(wait=True)
    db.close()
    return keys


def read_spans(db: Any, keys: list[bytes], chunk: int, rng: random.Random) -> list[float]:
    """Seconds per key of each multi-get of ``chunk`` shuffled keys, ascending."""
    order = keys[:]
    rng.shuffle(order)
    spans = []
    clock = time.perf_counter
    for start in range(0, len(order), chunk):
        part = order[start : start + chunk]
        began = clock()
        values = db.get(part)
        spans.append((clock() - began) / len(part))
        if values[0] is None:
            raise SystemExit("a row written before the reopen is missing")
    return sorted(spans)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=12_500, help="rows per file (100k / 8 partitions)")
    parser.add_argument("--chunk", type=int, default=250, help="keys per multi-get")
    args = parser.parse_args(argv)
    rng = random.Random(16)
    rows = [state_like_row(rng, i) for i in range(args.rows)]
    openers: dict[str, Callable[[], Opener]] = {  # a new one for the reopen: a restart starts a new cache
        "Faust's opener (baseline)": lambda: RocksDBOptions().open,
        "worker's opener": lambda: PartitionFiles(RocksDBOptions(), shared_cache(DEFAULT_CACHE_MB)),
    }
    table: list[list[object]] = []
    medians: dict[tuple[str, str], float] = {}
    with tempfile.TemporaryDirectory(prefix="state-files-bench-") as tmp:
        for number, (label, opener) in enumerate(openers.items()):
            path = Path(tmp) / f"partition-{number}"
            keys = fill(opener(), path, rows)
            db = opener()(path)
            try:
                for phase in PHASES:
                    if phase == "reads after rewrite":
                        for key, row in zip(keys, rows, strict=True):
                            db.put(key, row)
                        db.flush(wait=True)
                    spans = read_spans(db, keys, args.chunk, rng)
                    medians[label, phase] = percentile(spans, 50)
                    table.append([label, phase, f"{len(spans) / sum(spans):,.0f}",
                                  *(f"{percentile(spans, q) * 1e6:.2f}" for q in (50, 95, 99))])  # fmt: skip
                cache = db.property_int_value("rocksdb.block-cache-capacity")
                table.append([label, f"block cache {cache / 2**20:,.0f} MB", "", "", "", ""])
            finally:
                db.close()
            shutil.rmtree(path)
    baseline, ours = openers
    for phase in PHASES:
        ratio = medians[baseline, phase] / medians[ours, phase]
        table.append(["worker's / baseline", phase, "", f"x{ratio:.2f} faster (median)", "", ""])
    mean = sum(map(len, rows)) / len(rows)
    print(f"state reads from reopened partition files: {args.rows:,} rows of {mean:,.0f} B, multi-gets of "
          f"{args.chunk}")  # fmt: skip
    print(format_table(table, ["opener", "phase", "keys/s", "p50 us/key", "p95 us/key", "p99 us/key"]))


if __name__ == "__main__":
    main()
