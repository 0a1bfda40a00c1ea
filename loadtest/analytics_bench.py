"""Analytics benchmark: writer rows/s, and funnel / who-is-where query latency over millions of step rows.

    python -m loadtest.analytics_bench [--rows 10000000] [--writer-rows 200000] [--repeat 15] [--dsn DSN]
                                       [--kafka HOST:PORT]

1. Writer path: step records as JSON bytes -> the writer's decoder -> columnar batches of 5,000 -> insert
   (materialised views included). With --kafka, also end to end: the records are produced to a fresh
   topic prefix and the real AnalyticsWriter consumes them (rows/s from first poll to last insert).
2. `--rows` step rows generated inside ClickHouse (numbers(), 1M rows per INSERT, so the materialised views
   fill as in production), 5 records per run over 20 workflows and 30 days; a quarter of the runs reach
   the goal, a quarter exit, half stay live.
3. Latency (p50 / p99 / max over --repeat runs) of the funnel report (all workflows, and one), the
   who-is-where report, and, as the baseline the materialised views replace, the same funnel computed
   from the raw step_log.
Default DSN: an embedded chdb store in a temporary directory (deleted at the end).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path

import orjson

from loadtest.percentiles import percentile
from sinks.analytics.batch import ColumnBatch
from sinks.analytics.config import WriterConfig
from sinks.analytics.gateway import StoreGateway
from sinks.analytics.migrations import prepare
from sinks.analytics.records import step_rows
from sinks.analytics.reports import report_parameters, run_report
from sinks.analytics.store import AnalyticsStore
from sinks.analytics.writer import AnalyticsWriter, insert_batch

T0 = 1_767_225_600_000  # 2026-01-01
DAY = 86_400_000
BATCH = 5000

GENERATE_SQL = """
INSERT INTO step_log (ts, contact_id, workflow_id, version, run_id, node_id, transition, reason, event_id,
                      event_type, source, seq, record_id, log_partition, log_offset)
SELECT
    fromUnixTimestamp64Milli(toInt64({t0:Int64} + (run * 7919) % (30 * 86400000) + k * 60000), 'UTC') AS ts,
    concat('c', toString(run)) AS contact_id,
    concat('wf', toString(run % 20)) AS workflow_id,
    toUInt32(1 + (run % 3 = 0)) AS version,
    hex(cityHash64(run)) AS run_id,
    multiIf(k = 0, '', k = 1, 'w1', k = 2, 'mail', k = 3, 'w2',
            run % 4 = 0, 'won', run % 4 = 1, 'done', 'w3') AS node_id,
    multiIf(k = 0, 'entered', k IN (1, 3), 'waited', k = 2, 'acted',
            run % 4 = 0, 'goal', run % 4 = 1, 'exited', 'waited') AS transition,
    if(k = 4 AND run % 4 = 1, 'finished', '') AS reason,
    concat('e', toString(number)) AS event_id,
    'x' AS event_type,
    concat(toString(run % 8), ':', toString(run * 5 + k)) AS source,
    toUInt32(0) AS seq,
    concat(source, '/0') AS record_id,
    toInt32(run % 8) AS log_partition,
    toInt64(number) AS log_offset
FROM (SELECT number, intDiv(number, 5) AS run, number % 5 AS k
      FROM numbers({start:UInt64}, {count:UInt64}))
"""

QUERIES: dict[str, tuple[str, dict[str, object]]] = {
    "funnel, all workflows (MV)": ("funnel", report_parameters(None, 0, T0)),
    "funnel, one workflow (MV)": ("funnel", report_parameters("wf7", 0, T0)),
    "who is where, all (MV)": ("whereis", report_parameters(None, 0, T0 + 40 * DAY)),
    "who is where, one workflow (MV)": ("whereis", report_parameters("wf7", 0, T0 + 40 * DAY)),
}
RAW_FUNNEL = """
SELECT workflow_id, version, transition, node_id, uniqExact(run_id) AS runs
FROM step_log FINAL WHERE run_id != '' GROUP BY workflow_id, version, transition, node_id
"""


def step_record(i: int) -> bytes:
    run, k = divmod(i, 5)
    return orjson.dumps(
        {"ts": T0 + run * 1000 + k, "contact_id": f"c{run}", "workflow_id": f"w{run % 10}", "version": 1,
         "run_id": f"r{run}", "node_id": None if k == 0 else f"n{k}",
         "transition": "entered" if k == 0 else "waited", "reason": "bench", "event_id": f"e{run}",
         "event_type": "x", "source": f"0:{run}", "seq": k}
    )  # fmt: skip


def bench_writer_path(store: AnalyticsStore, rows: int) -> float:
    payloads = [step_record(i) for i in range(rows)]
    started = time.perf_counter()
    for first in range(0, rows, BATCH):
        batch = ColumnBatch()
        for offset, payload in enumerate(payloads[first : first + BATCH], start=first):
            batch.add("analytics", 0, offset, step_rows(payload, 0, offset)[0], 0.0)
        insert_batch(store, batch)
    return rows / (time.perf_counter() - started)


async def bench_writer_kafka(bootstrap: str, dsn: str, rows: int) -> float:
    from aiokafka import AIOKafkaProducer

    from agents.kafka_admin import create_topics

    prefix = f"bench-{uuid.uuid4().hex[:8]}."
    await create_topics(bootstrap, [prefix + "analytics"], 4)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, max_batch_size=256 * 1024)
    await producer.start()
    try:
        for i in range(rows):
            await producer.send(prefix + "analytics", step_record(i), key=f"c{i // 5}".encode())
        await producer.flush()
    finally:
        await producer.stop()
    config = WriterConfig(bootstrap=bootstrap, topic_prefix=prefix, group_id=prefix + "analytics", dsn=dsn,
                          batch_rows=BATCH, batch_seconds=1.0, query_port=0)  # fmt: skip
    writer = AnalyticsWriter(config, StoreGateway(dsn))
    stop = asyncio.Event()
    task = asyncio.create_task(writer.run(stop))
    await writer.ready.wait()
    started = time.perf_counter()
    while writer.stats.records < rows:
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - started
    stop.set()
    await task
    await writer.gateway.close()
    return rows / elapsed


def generate(store: AnalyticsStore, rows: int) -> float:
    started = time.perf_counter()
    chunk = 1_000_000
    for start in range(0, rows, chunk):
        count = min(chunk, rows - start)
        store.query(GENERATE_SQL, {"t0": T0, "start": start, "count": count})
    return time.perf_counter() - started


def timed(call: Callable[[], object], repeat: int) -> list[float]:
    call()  # warm-up
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=10_000_000, help="generated step rows (default 10M)")
    parser.add_argument("--writer-rows", type=int, default=200_000, help="records through the writer path")
    parser.add_argument("--repeat", type=int, default=15, help="query repetitions")
    parser.add_argument("--dsn", help="ClickHouse DSN (default: embedded chdb in a temporary directory)")
    parser.add_argument("--kafka", help="host:port of a broker: also measure the writer end to end")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="analytics-bench-"))
    dsn = args.dsn or f"chdb://{work / 'writer'}"
    try:
        print(f"store: {dsn if args.dsn else 'embedded chdb (temporary)'}")
        if args.kafka:
            rate = asyncio.run(bench_writer_kafka(args.kafka, dsn, args.writer_rows))
            print(
                f"writer, Kafka -> ClickHouse end to end: {args.writer_rows:,} step records "
                f"at {rate:,.0f} rows/s"
            )
        store = AnalyticsStore.connect(dsn)
        if not args.dsn:
            store.command("CREATE DATABASE IF NOT EXISTS bench")
            store.close()
            store = AnalyticsStore.connect(f"{dsn}?database=bench")
        prepare(store)
        rate = bench_writer_path(store, args.writer_rows)
        print(f"writer path (decode + columnar insert, batches of {BATCH}): {rate:,.0f} rows/s")
        store.command("TRUNCATE TABLE step_log")
        store.command("TRUNCATE TABLE funnel_daily_agg")
        store.command("TRUNCATE TABLE run_position")
        seconds = generate(store, args.rows)
        print(f"generated {args.rows:,} step rows (+ materialised views) in {seconds:.1f}s "
              f"({args.rows / seconds:,.0f} rows/s)")  # fmt: skip
        live = store.query("SELECT count() FROM whereis").rows[0][0]
        print(f"live runs: {live:,}")
        print(f"{'query':36} {'p50 ms':>9} {'p99 ms':>9} {'max ms':>9}  rows")
        for label, (name, params) in QUERIES.items():
            result_rows = len(run_report(store, name, params).rows)
            samples = timed(partial(run_report, store, name, params), args.repeat)
            print(f"{label:36} {statistics.median(samples):9.1f} {percentile(sorted(samples), 99):9.1f} "
                  f"{max(samples):9.1f}  {result_rows}")  # fmt: skip
        samples = timed(lambda: store.query(RAW_FUNNEL), max(3, args.repeat // 3))
        print(f"{'baseline: funnel from raw step_log':36} {statistics.median(samples):9.1f} "
              f"{percentile(sorted(samples), 99):9.1f} {max(samples):9.1f}")  # fmt: skip
        store.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
