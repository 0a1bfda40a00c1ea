"""Baseline (a): plain aiokafka consume -> orjson decode -> orjson encode -> produce, in one process.

The ceiling for any Python consumer on this machine: batched `getmany`, one record batch per output
partition handed to the producer at once, one wait for delivery per fetched batch, offsets committed
about once a second (like Faust). Each record goes to the output partition of its input partition,
which is the partition its key hashes to, since both topics have the same partition count.

    python -m loadtest.raw_passthrough --bootstrap 127.0.0.1:19592 --in-topic IN --out-topic OUT --group G
Runs until SIGTERM/SIGINT; prints READY once partitions are assigned.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import time
from collections.abc import Sequence
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

COMMIT_INTERVAL_S = 1.0


async def passthrough(bootstrap: str, in_topic: str, out_topic: str, group: str, max_records: int) -> None:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    consumer = AIOKafkaConsumer(
        in_topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks=1, linger_ms=5, max_batch_size=512 * 1024)
    await producer.start()
    await consumer.start()
    print(f"event loop: {type(loop).__module__}", flush=True)
    ready = False
    pending_commit: dict[TopicPartition, int] = {}
    last_commit = time.monotonic()
    try:
        while not stopping.is_set():
            fetched = await consumer.getmany(timeout_ms=100, max_records=max_records)
            if not ready and consumer.assignment():
                ready = True
                print("READY", flush=True)
            if not fetched:
                continue
            futures: list[asyncio.Future[Any]] = []
            for tp, records in fetched.items():
                batch = producer.create_batch()
                for record in records:
                    value = orjson.dumps(orjson.loads(record.value)) if record.value is not None else None
                    if batch.append(key=record.key, value=value, timestamp=None) is None:
                        futures.append(await producer.send_batch(batch, out_topic, partition=tp.partition))
                        batch = producer.create_batch()
                        batch.append(key=record.key, value=value, timestamp=None)
                futures.append(await producer.send_batch(batch, out_topic, partition=tp.partition))
                pending_commit[tp] = records[-1].offset + 1
            await asyncio.gather(*futures)
            if time.monotonic() - last_commit >= COMMIT_INTERVAL_S:
                await consumer.commit(pending_commit)
                pending_commit = {}
                last_commit = time.monotonic()
        if pending_commit:
            await consumer.commit(pending_commit)
    finally:
        await consumer.stop()
        await producer.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="loadtest.raw_passthrough", description=__doc__)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--in-topic", required=True)
    parser.add_argument("--out-topic", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--max-records", type=int, default=2000, help="records per getmany (default 2000)")
    parser.add_argument("--event-loop", choices=["uvloop", "asyncio"], default="uvloop")
    args = parser.parse_args(argv)
    coro = passthrough(args.bootstrap, args.in_topic, args.out_topic, args.group, args.max_records)
    if args.event_loop == "uvloop":
        import uvloop

        uvloop.run(coro)
    else:
        asyncio.run(coro)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
