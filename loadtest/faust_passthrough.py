"""Baseline (b): a bare Faust app with one agent that decodes and re-encodes each event, nothing else.

Same shape as the real worker (raw bytes topics, concurrency 1, `take_events` batches, same commit
interval and linger), minus tables and the engine, so (c)/(b) shows what our own code costs on top of
Faust. Send modes:
- `gather` (default): `app.producer.send()` per event (it only queues the record in aiokafka and
  returns a delivery future), then one wait for the whole batch's futures before the batch is acked;
- `soon`: `topic.send_soon()` per event, fire-and-forget through Faust's producer buffer.

    python -m loadtest.faust_passthrough --bootstrap B --in-topic IN --out-topic OUT --app-id ID --data-dir D
Runs until SIGTERM/SIGINT; logs `[^Worker]: Ready` once started.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import faust
import orjson
from faust.worker import Worker as FaustWorker


def build_passthrough_app(
    bootstrap: str, in_topic: str, out_topic: str, app_id: str, data_dir: Path,
    partitions: int = 8, batch_size: int = 1000, within_s: float = 0.05, send_mode: str = "gather",
) -> faust.App:  # fmt: skip
    app = faust.App(
        app_id,
        broker=f"kafka://{bootstrap}",
        store="memory://",
        datadir=str(data_dir),
        topic_partitions=partitions,
        consumer_auto_offset_reset="earliest",
        producer_linger_ms=5,
        stream_buffer_maxsize=max(4096, batch_size * 2),
        broker_commit_interval=1.0,
        web_enabled=False,
        loghandlers=[],
        autodiscover=False,
    )

    def raw(name: str) -> Any:
        return app.topic(name, key_type=bytes, value_type=bytes, key_serializer="raw",
                         value_serializer="raw", partitions=partitions)  # fmt: skip

    source = raw(in_topic)
    sink = raw(out_topic)

    async def passthrough_gather(stream: Any) -> None:
        producer = app.producer
        async for batch in stream.take_events(batch_size, within_s):
            futures = []
            for event in batch:
                value = orjson.dumps(orjson.loads(event.value))
                futures.append(await producer.send(out_topic, event.key, value, None, None, None))
            await asyncio.gather(*futures)

    async def passthrough_soon(stream: Any) -> None:
        async for batch in stream.take_events(batch_size, within_s):
            for event in batch:
                sink.send_soon(key=event.key, value=orjson.dumps(orjson.loads(event.value)))

    agent = passthrough_gather if send_mode == "gather" else passthrough_soon
    app.agent(source, name="passthrough", concurrency=1)(agent)
    return app


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="loadtest.faust_passthrough", description=__doc__)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--in-topic", required=True)
    parser.add_argument("--out-topic", required=True)
    parser.add_argument("--app-id", required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--within", type=float, default=0.05, help="seconds to wait for a fuller batch")
    parser.add_argument("--send-mode", choices=["gather", "soon"], default="gather")
    parser.add_argument("--event-loop", choices=["uvloop", "asyncio"], default="uvloop")
    args = parser.parse_args(argv)
    if args.event_loop == "uvloop":
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    asyncio.set_event_loop(asyncio.new_event_loop())
    print(f"event loop: {type(asyncio.get_event_loop()).__module__}", flush=True)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    app = build_passthrough_app(
        args.bootstrap, args.in_topic, args.out_topic, args.app_id, args.data_dir,
        partitions=args.partitions, batch_size=args.batch_size, within_s=args.within,
        send_mode=args.send_mode,
    )  # fmt: skip
    FaustWorker(app, loglevel="info", quiet=True).execute_from_commandline()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
