"""The load test's rate-controlled producer, run in its own process so that it never shares an event loop
(or a core's worth of Python) with the measuring side.

    python -m loadtest.producer_proc --bootstrap 127.0.0.1:19992 --topic T --partitions 8 \
        --rate 1000 --seconds 60 --contacts 3000 [--events N] [--seed 7] [--preload]

It generates the traffic (loadtest.generator: realistic contacts, reproducible from the seed), then
prints ``READY <events>`` and waits for one line on stdin before it sends anything, so the caller decides
when the clock starts. Every event is stamped with ``ts`` = the wall-clock time at which it is due to be
sent (the record's timestamp is the same), so event time is produce time and an immediate action's ``ts``
tells when its triggering event was produced.

- paced (default): ``rate`` events per second, open loop (the schedule never waits for the consumer):
  event n is due at the start + n / rate and stamped with that time, not with the moment it leaves, so
  the time an event waits in this process (behind a send that blocks, say) counts in its latency. The
  events due are handed to the client every 5 ms as one record batch per partition; ``PROGRESS <sent>
  <acked>`` every 0.25 s.
- ``--preload``: everything as fast as aiokafka can write it (loadtest.kafka_bench.preload).

It ends with ``DONE <json>`` (sent, acked, seconds, achieved rate, first/last ts, the most an event was
handed over after its due time) and exit code 0, or ``FAILED <reason>`` and exit code 1 as soon as a
delivery fails.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import random
import sys
import time
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import asdict, dataclass
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer

from agents.outbox import Record as OutboxRecord
from agents.outbox import record_batches
from agents.partitioning import partition_for
from engine.types import Event
from loadtest.generator import StreamSpec, generate
from loadtest.kafka_bench import Record, encode_event, preload

PROGRESS_EVERY_S = 0.25
# Events due are sent every tick. Each tick is a produce request, and at 1 ms this process spent a third of a
# core writing them at 3,000 ev/s, on a machine whose two cores the measured worker and the broker share. A
# producer's client batches like this anyway (Kafka's Java client lingers 5 ms by default); each event is
# still stamped with its due time, so its latency counts from there.
TICK_S = 0.005


@dataclass(frozen=True)
class Produced:
    sent: int
    acked: int
    seconds: float
    first_ts: int
    last_ts: int
    max_behind_ms: int = 0  # the most an event was handed to the client after its due time (paced)

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds > 0 else 0.0


def now_ms() -> int:
    return int(time.time() * 1000)


def stamped(event: Event, ts: int) -> Record:
    """The event as a (key, value) record, with its event time replaced by ``ts``."""
    value = encode_event(event["event_id"], event["contact_id"], event["type"], ts, event["properties"])
    return event["contact_id"].encode(), value


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def repeats(count: int, share: float, seed: int) -> set[int]:
    """The indexes of the events sent twice: a seeded draw, the same for the same run."""
    draw = random.Random(f"duplicates:{seed}")
    return {index for index in range(count) if draw.random() < share}


async def send_paced(
    bootstrap: str, topic: str, events: Sequence[Event], rate: float, partitions: int,
    twice: AbstractSet[int] = frozenset(),
) -> Produced:  # fmt: skip
    """Each tick, the events now due, stamped with their due time and handed to the client as one record
    batch per partition (a send per record cost this process a third of a core at 3,000 ev/s, on a machine
    whose two cores the measured worker and the broker share). The batches leave at once (no linger).
    The first failed delivery ends it (RuntimeError), during the sends or while it waits for the acks."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks=1, linger_ms=0)
    await producer.start()
    acked = failed = 0  # records
    failures: list[BaseException] = []

    def delivered(count: int, future: asyncio.Future[Any]) -> None:
        nonlocal acked, failed
        if future.cancelled():
            failures.append(asyncio.CancelledError())
            failed += count
        elif (error := future.exception()) is not None:
            failures.append(error)
            failed += count
        else:
            acked += count

    def failure() -> RuntimeError:
        return RuntimeError(f"delivery failed for {failed:,} record(s): {failures[0]!r}")

    futures: list[asyncio.Future[Any]] = []
    partition_of: dict[bytes, int] = {}
    first_ts = last_ts = 0
    sent = handed = 0  # events, and records handed to the client (a repeated event is two)
    behind = 0
    try:
        started = time.monotonic()
        started_ms = time.time() * 1000  # event n is due at started_ms + n * 1000 / rate
        next_progress = started
        while sent < len(events):
            now = time.monotonic()
            due = min(len(events), int((now - started) * rate) + 1)
            ticked: dict[int, list[OutboxRecord]] = {}
            if sent < due:  # the oldest event due now is the most behind its time
                behind = max(behind, now_ms() - int(started_ms + sent * 1000 / rate))
            while sent < due:
                ts = int(started_ms + sent * 1000 / rate)
                key, value = stamped(events[sent], ts)
                partition = partition_of.get(key)
                if partition is None:
                    partition = partition_of[key] = partition_for(key, partitions)
                records = ticked.setdefault(partition, [])
                for _ in range(2 if sent in twice else 1):
                    records.append((key, value, None, ts))
                first_ts = first_ts or ts
                last_ts = ts
                sent += 1
            for partition, records in ticked.items():
                for batch, count in record_batches(producer, records):
                    future = await producer.send_batch(batch, topic, partition=partition)
                    future.add_done_callback(functools.partial(delivered, count))
                    futures.append(future)
                    handed += count
            if failures:
                raise failure()
            if now >= next_progress:
                say(f"PROGRESS {handed} {acked}")
                next_progress = now + PROGRESS_EVERY_S
                futures = [future for future in futures if not future.done()]
            await asyncio.sleep(TICK_S)
        seconds = time.monotonic() - started
        # the client may still hold a backlog: keep reporting it (each callback counts its batch's records)
        while acked + failed < handed and not failures:
            say(f"PROGRESS {handed} {acked}")
            if futures:
                await asyncio.wait(futures, timeout=PROGRESS_EVERY_S)
            else:  # all done; their callbacks run on the next turn of the loop
                await asyncio.sleep(0)
            futures = [future for future in futures if not future.done()]
        if failures:
            raise failure()
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return Produced(handed, acked, seconds, first_ts, last_ts, behind)


async def send_preloaded(
    bootstrap: str,
    topic: str,
    events: Sequence[Event],
    partitions: int,
    twice: AbstractSet[int] = frozenset(),
) -> Produced:
    first_ts = now_ms()
    records = []
    for index, event in enumerate(events):
        record = stamped(event, now_ms())
        records.extend([record, record] if index in twice else [record])
    result = await preload(bootstrap, topic, records, partitions)
    last_ts = int(orjson.loads(records[-1][1])["ts"]) if records else first_ts
    return Produced(result.records, result.records, result.seconds, first_ts, last_ts)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="loadtest.producer_proc", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--partitions", type=int, required=True)
    parser.add_argument("--rate", type=float, required=True, help="events per second (paced mode)")
    parser.add_argument("--seconds", type=float, default=0.0, help="how long to send (rate x seconds events)")
    parser.add_argument("--events", type=int, default=0, help="how many events (instead of --seconds)")
    parser.add_argument("--contacts", type=int, required=True)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--prefix", default="lt", help="contact and event id prefix")
    parser.add_argument("--preload", action="store_true", help="send everything as fast as possible")
    parser.add_argument(
        "--duplicates", type=float, default=0.0, help="share of events sent twice (a retrying producer)"
    )
    return parser


def plan(args: argparse.Namespace) -> list[Event]:
    start = now_ms()
    if args.events > 0:
        spec = StreamSpec.for_events(
            args.events, args.rate, contacts=args.contacts, start_ms=start, seed=args.seed, prefix=args.prefix
        )
    else:
        spec = StreamSpec.at_rate(
            args.rate,
            args.seconds,
            contacts=args.contacts,
            start_ms=start,
            seed=args.seed,
            prefix=args.prefix,
        )
    return generate(spec).events


async def run(args: argparse.Namespace) -> Produced:
    events = plan(args)
    say(f"READY {len(events)}")
    await asyncio.to_thread(sys.stdin.readline)  # the caller's "go"
    twice = repeats(len(events), args.duplicates, args.seed)
    if args.preload:
        return await send_preloaded(args.bootstrap, args.topic, events, args.partitions, twice)
    return await send_paced(args.bootstrap, args.topic, events, args.rate, args.partitions, twice)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.rate <= 0 or (args.events <= 0 and args.seconds <= 0):
        say("FAILED the rate and either --seconds or --events must be positive")
        return 1
    try:
        produced = asyncio.run(run(args))
    except Exception as exc:  # reported to the caller on stdout, which is all it reads
        say(f"FAILED {type(exc).__name__}: {exc}")
        return 1
    say("DONE " + orjson.dumps({**asdict(produced), "rate": produced.rate}).decode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
