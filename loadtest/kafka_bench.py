"""Reusable benchmark pieces: synthetic contact events, a fast preloader, a paced producer, output
timestamps read back from Kafka, latency percentiles and the JSON report.

Every benchmark under loadtest/ builds on these, so that figures from different runs are measured
the same way. Everything here talks only to the broker it is given (the benchmarks use 127.0.0.1).
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from agents.outbox import Record as OutboxRecord
from agents.outbox import record_batches
from agents.partitioning import partition_for
from agents.settings import Settings
from agents.topic_reader import KNOWN_TOPIC_WAIT_S, metadata_consumer, topic_end_offsets
from broker.factory import broker_at
from broker.launcher import KafkaBroker
from loadtest.percentiles import percentile

Record = tuple[bytes, bytes]  # (key, value): key = contact_id, value = the event's JSON

# Behaviour after a contact is added: weights roughly like a marketing contact base.
BEHAVIOUR_MIX: tuple[tuple[str, int], ...] = (
    ("email.opened", 40),
    ("page.viewed", 30),
    ("link.clicked", 20),
    ("purchase", 5),
    ("contact.added", 5),  # re-imports of an existing contact merge attributes again
)
FIRST_NAMES = ("Ada", "Bruno", "Chiara", "Dmitri", "Elif", "Farah", "Gustav", "Hana", "Ivo", "Jonas")
COUNTRIES = ("DE", "FR", "US", "GB", "NL", "ES", "IT", "PL", "SE", "BR")
SOURCES = ("webinar", "signup_form", "import", "referral", "trade_show")
PAGES = ("pricing", "features", "docs/getting-started", "blog/automation-101", "customers", "contact")
CAMPAIGNS = tuple(f"cmp-2025-{n:03d}" for n in range(1, 25))
MAIL_CLIENTS = ("gmail", "outlook", "apple_mail", "thunderbird")


# Scratch space of the benchmarks (brokers, worker state, logs); never inside the repository.
BENCH_ROOT = Path(tempfile.gettempdir()) / "switchyard-bench"


def contact_id(prefix: str, index: int) -> str:
    return f"{prefix}{index:07d}"


def event_properties(etype: str, rng: random.Random, contact: str, serial: int) -> dict[str, Any]:
    """Plausible properties for one event type (kept so that a whole event is about 150-250 bytes)."""
    if etype == "contact.added":
        name = rng.choice(FIRST_NAMES)
        return {
            "email": f"{name.lower()}.{contact}@example.com",
            "first_name": name,
            "country": rng.choice(COUNTRIES),
            "source": rng.choice(SOURCES),
            "plan": rng.choice(("free", "trial", "pro")),
        }
    if etype == "email.opened":
        return {"campaign_id": rng.choice(CAMPAIGNS), "message_id": f"msg-{serial:09d}",
                "client": rng.choice(MAIL_CLIENTS)}  # fmt: skip
    if etype == "link.clicked":
        page = rng.choice(PAGES)
        campaign = rng.choice(CAMPAIGNS)
        return {"url": f"https://example.com/{page}?utm_source=newsletter&utm_campaign={campaign}",
                "campaign_id": campaign}  # fmt: skip
    if etype == "page.viewed":
        page = rng.choice(PAGES)
        return {"url": f"https://example.com/{page}", "page": page.split("/")[0],
                "referrer": rng.choice(("google", "newsletter", "direct", "linkedin"))}  # fmt: skip
    if etype == "purchase":
        return {"cart_id": f"cart-{serial:09d}", "order_id": f"ord-{serial:09d}",
                "amount": round(rng.uniform(9, 400), 2), "currency": "EUR"}  # fmt: skip
    raise ValueError(f"no property recipe for event type {etype!r}")


def encode_event(event_id: str, contact: str, etype: str, ts: int, properties: dict[str, Any]) -> bytes:
    return orjson.dumps(
        {"event_id": event_id, "contact_id": contact, "type": etype, "ts": ts, "properties": properties}
    )


def generate_events(
    n_events: int, n_contacts: int, *, base_ts: int, seed: int = 7, prefix: str = "c", ts_step_ms: int = 3
) -> list[Record]:
    """`n_events` events over exactly min(n_events, n_contacts) distinct contacts, deterministically.

    Each contact's first event is `contact.added`; later ones follow BEHAVIOUR_MIX. Event time starts at
    `base_ts` and advances `ts_step_ms` per event, so it stays within the worker's accepted range.
    """
    if n_events < 0 or n_contacts <= 0:
        raise ValueError("need n_events >= 0 and n_contacts > 0")
    rng = random.Random(seed)
    distinct = min(n_events, n_contacts)
    order = list(range(distinct)) + [rng.randrange(distinct) for _ in range(n_events - distinct)]
    rng.shuffle(order)
    types = [t for t, _ in BEHAVIOUR_MIX]
    weights = [w for _, w in BEHAVIOUR_MIX]
    seen: set[int] = set()
    out: list[Record] = []
    for serial, index in enumerate(order):
        contact = contact_id(prefix, index)
        if index in seen:
            etype = rng.choices(types, weights)[0]
        else:
            seen.add(index)
            etype = "contact.added"
        props = event_properties(etype, rng, contact, serial)
        value = encode_event(f"{prefix}e{serial:09d}", contact, etype, base_ts + serial * ts_step_ms, props)
        out.append((contact.encode(), value))
    return out


def one_event_per_contact(n: int, *, base_ts: int, seed: int = 11, prefix: str = "p") -> list[Record]:
    """`n` events for `n` fresh contacts (one each), for latency phases where a key identifies its event."""
    rng = random.Random(seed)
    types = [t for t, _ in BEHAVIOUR_MIX]
    weights = [w for _, w in BEHAVIOUR_MIX]
    out: list[Record] = []
    for index in range(n):
        contact = contact_id(prefix, index)
        etype = rng.choices(types, weights)[0]
        props = event_properties(etype, rng, contact, index)
        out.append((contact.encode(), encode_event(f"{prefix}e{index:09d}", contact, etype, base_ts, props)))
    return out


# -- producing ------------------------------------------------------------------------------------


async def wait_for_leaders(
    bootstrap: str, topics: Sequence[str], partitions: int, timeout: float = 30.0
) -> None:
    """Until every partition of `topics` has a leader: producing to a just-created topic otherwise
    earns NotLeaderForPartition retries."""
    deadline = time.monotonic() + timeout
    async with metadata_consumer(bootstrap) as consumer:
        cluster = consumer._client.cluster
        while True:
            led = [len(cluster.available_partitions_for_topic(topic) or ()) for topic in topics]
            if all(n >= partitions for n in led):
                # Metadata names the leader a moment before it serves; ListOffsets waits for that.
                tps = [TopicPartition(topic, p) for topic in topics for p in range(partitions)]
                await consumer.end_offsets(tps)
                return
            if time.monotonic() > deadline:
                counts = dict(zip(topics, led, strict=True))
                raise TimeoutError(f"partitions with a leader after {timeout:.0f}s: {counts}")
            await asyncio.sleep(0.1)
            await consumer._client.force_metadata_update()


@dataclass(frozen=True)
class PreloadResult:
    records: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0


async def preload(bootstrap: str, topic: str, records: Sequence[Record], partitions: int) -> PreloadResult:
    """Write `records` as fast as aiokafka can: whole batches per partition, one wait at the end."""
    by_partition: dict[int, list[OutboxRecord]] = {}
    for key, value in records:
        by_partition.setdefault(partition_for(key, partitions), []).append((key, value, None, None))
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks=1, linger_ms=5, max_batch_size=512 * 1024)
    await producer.start()
    started = time.perf_counter()
    try:
        futures: list[asyncio.Future[Any]] = []
        for partition, items in by_partition.items():
            for batch, _ in record_batches(producer, items):
                futures.append(await producer.send_batch(batch, topic, partition=partition))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return PreloadResult(len(records), time.perf_counter() - started)


@dataclass(frozen=True)
class PacedResult:
    sent_ts: dict[bytes, int]  # key -> the record's create timestamp (epoch ms)
    seconds: float

    @property
    def rate(self) -> float:
        return len(self.sent_ts) / self.seconds if self.seconds > 0 else 0.0


async def paced_produce(bootstrap: str, topic: str, records: Sequence[Record], rate: float) -> PacedResult:
    """Send `records` at `rate` per second, each stamped with the wall-clock time it was sent."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks=1, linger_ms=0)
    await producer.start()
    sent_ts: dict[bytes, int] = {}
    futures: list[asyncio.Future[Any]] = []
    try:
        started = time.monotonic()
        next_index = 0
        while next_index < len(records):
            due = min(len(records), int((time.monotonic() - started) * rate) + 1)
            while next_index < due:
                key, value = records[next_index]
                now_ms = int(time.time() * 1000)
                futures.append(await producer.send(topic, value, key=key, timestamp_ms=now_ms))
                sent_ts[key] = now_ms
                next_index += 1
            await asyncio.sleep(0.002)
        elapsed = time.monotonic() - started
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return PacedResult(sent_ts, elapsed)


# -- reading back ---------------------------------------------------------------------------------


async def edge_timestamps(
    bootstrap: str, topic: str, start: Mapping[int, int] | None = None
) -> tuple[int, int, int]:
    """(earliest, latest, records): the first and last record timestamps over all partitions, of the
    records from offsets ``start`` on (partition -> offset; all records without it).

    Within one partition, records written by one producer carry non-decreasing create timestamps, so
    reading the first and the last record of each partition is enough.
    """
    since = start or {}
    first: list[int] = []
    last: list[int] = []
    count = 0
    async with metadata_consumer(bootstrap) as consumer:
        ends = await topic_end_offsets(consumer, topic, KNOWN_TOPIC_WAIT_S)
        live = {tp: end for tp, end in ends.items() if end > since.get(tp.partition, 0)}
        if not live:
            raise ValueError(f"topic {topic} has no records" + (f" after {dict(since)}" if since else ""))
        consumer.assign(list(live))
        for tp, end in live.items():
            begin = since.get(tp.partition, 0)
            count += end - begin
            for offset, into in ((begin, first), (end - 1, last)):
                consumer.seek(tp, offset)
                batch = await consumer.getmany(tp, timeout_ms=5000, max_records=1)
                records = batch.get(tp, [])
                if not records:
                    raise TimeoutError(f"could not read {tp} at offset {offset}")
                into.append(records[0].timestamp)
    return min(first), max(last), count


async def collect_timestamps(
    bootstrap: str,
    topic: str,
    start: Mapping[TopicPartition, int],
    keys: Collection[bytes],
    deadline: float,
) -> dict[bytes, int]:
    """First timestamp of each of `keys` on `topic` from offsets `start`, until all are seen or `deadline`
    (a time.monotonic() value)."""
    wanted = set(keys)
    seen: dict[bytes, int] = {}
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        consumer.assign(list(start))
        for tp, offset in start.items():
            consumer.seek(tp, offset)
        while len(seen) < len(wanted) and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200, max_records=5000)
            for records in batch.values():
                for record in records:
                    key = record.key
                    if key is not None and key in wanted and key not in seen:
                        seen[key] = record.timestamp
    finally:
        await consumer.stop()
    return seen


# -- statistics and reports -----------------------------------------------------------------------


@dataclass(frozen=True)
class LatencySummary:
    count: int
    missing: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def latency_summary(values: Iterable[float], missing: int = 0) -> LatencySummary:
    ordered = sorted(values)
    if not ordered:
        nan = float("nan")
        return LatencySummary(0, missing, nan, nan, nan, nan, nan)
    return LatencySummary(
        count=len(ordered),
        missing=missing,
        p50_ms=percentile(ordered, 50),
        p95_ms=percentile(ordered, 95),
        p99_ms=percentile(ordered, 99),
        max_ms=ordered[-1],
        mean_ms=sum(ordered) / len(ordered),
    )


def match_latencies(sent_ts: Mapping[bytes, int], arrived_ts: Mapping[bytes, int]) -> LatencySummary:
    """Latency per key from its input create time to its output time; keys never seen count as missing."""
    values = [arrived_ts[key] - ts for key, ts in sent_ts.items() if key in arrived_ts]
    return latency_summary(values, missing=len(sent_ts) - len(values))


def write_report(path: Path, report: Mapping[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS))
    return path


# -- the benchmark broker ---------------------------------------------------------------------------


REBALANCE_DELAY_KEY = "group.initial.rebalance.delay.ms"


class BenchBroker(KafkaBroker):
    """The project's broker with Kafka's own default initial rebalance delay (3 s) instead of the
    project's 0: workers started together then join one group generation before any of them fetches,
    as they would against a production broker."""

    def __init__(self, *args: Any, initial_rebalance_delay_ms: int = 3000, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial_rebalance_delay_ms = initial_rebalance_delay_ms

    def _write_config(self) -> Path:
        config = super()._write_config()
        lines = [line for line in config.read_text().splitlines() if not line.startswith(REBALANCE_DELAY_KEY)]
        lines.append(f"{REBALANCE_DELAY_KEY}={self.initial_rebalance_delay_ms}")
        config.write_text("\n".join(lines) + "\n")
        return config


def configured_rebalance_delay(work_dir: Path) -> int | None:
    """The initial rebalance delay in the config a broker in `work_dir` was last started with."""
    try:
        text = (work_dir / "server.properties").read_text()
    except FileNotFoundError:
        return None
    values = [
        line.split("=", 1)[1] for line in text.splitlines() if line.startswith(REBALANCE_DELAY_KEY + "=")
    ]
    return int(values[-1]) if values else None


@contextmanager
def bench_broker(
    work_dir: Path, port: int, controller_port: int, keep: bool = False, rebalance_delay_ms: int = 3000
) -> Iterator[str]:
    """SWITCHYARD_KAFKA when set, else a BenchBroker on 127.0.0.1:`port` keeping its data in `work_dir`
    (``rebalance_delay_ms=0``: the project's own broker config), for the body of the block; yields the
    bootstrap address. At the end, whatever happened, it stops the broker it started (not one that was
    already running, someone else's, nor an external one, nor when `keep` is set)."""
    settings = Settings.from_env()
    if settings.external_kafka:
        yield settings.external_kafka
        return
    broker = broker_at(
        settings, work_dir, port, controller_port, BenchBroker, initial_rebalance_delay_ms=rebalance_delay_ms
    )
    already = broker.status().running
    status = broker.start()
    delay = configured_rebalance_delay(work_dir)
    started = " (reused)" if already else f"; JIT {broker.jit}"
    print(f"{status.detail}{started}; {REBALANCE_DELAY_KEY}={delay}", flush=True)
    try:
        yield broker.bootstrap
    finally:
        if not (already or keep):
            broker.stop()
            print("benchmark broker stopped", flush=True)
