"""Fixtures for agent tests: real worker processes against the real broker, and topic helpers."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from agents.kafka_admin import wait_for_lag_zero
from agents.settings import Settings
from agents.worker_process import REPO, WorkerProcess
from engine.packing import unpack


class WorkerFactory:
    """Starts worker processes logging into a test's directory; the fixture stops them all afterwards."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.started: list[WorkerProcess] = []

    def start(
        self,
        settings: Settings,
        name: str = "worker",
        module: str = "switchyard",
        extra_env: dict[str, str] | None = None,
    ) -> WorkerProcess:
        worker = WorkerProcess(settings, self.directory / f"{name}.log", module=module)
        self.started.append(worker)
        return worker.start(extra_env=extra_env)


@pytest.fixture
def worker_factory(tmp_path: Path) -> Iterator[WorkerFactory]:
    factory = WorkerFactory(tmp_path)
    yield factory
    for worker in factory.started:
        worker.stop()


def event(contact_id: str, etype: str, ts: int, event_id: str | None = None, **props: object) -> bytes:
    return orjson.dumps(
        {"event_id": event_id or f"{contact_id}-{etype}-{ts}", "contact_id": contact_id, "type": etype,
         "ts": ts, "properties": props}
    )  # fmt: skip


async def produce(bootstrap: str, topic: str, records: Iterable[tuple[bytes | None, bytes | None]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=2)
    await producer.start()
    try:
        for key, value in records:
            await producer.send(topic, value=value, key=key)
        await producer.flush()
    finally:
        await producer.stop()


def produce_events(settings: Settings, events: Iterable[bytes]) -> None:
    """Send contract events keyed by their contact_id."""
    records = [(orjson.loads(e)["contact_id"].encode(), e) for e in events]
    asyncio.run(produce(settings.bootstrap, settings.topic("events"), records))


@dataclass
class Consumed:
    key: bytes | None
    value: bytes | None
    headers: dict[str, bytes]
    partition: int
    offset: int


async def read_topic(bootstrap: str, topic: str, expect: int, timeout: float = 30.0) -> list[Consumed]:
    """Read `topic` from the beginning until `expect` records arrived (or the timeout)."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None)  # fmt: skip
    await consumer.start()
    out: list[Consumed] = []
    deadline = time.monotonic() + timeout
    try:
        while len(out) < expect and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for tp, records in batch.items():
                out.extend(
                    Consumed(r.key, r.value, {k: v for k, v in r.headers}, tp.partition, r.offset)
                    for r in records
                )
    finally:
        await consumer.stop()
    return out


def wait_processed(settings: Settings, timeout: float = 60.0) -> None:
    """Block until the worker's consumer group has committed everything in `events`."""
    ok = asyncio.run(
        wait_for_lag_zero(settings.bootstrap, settings.app_id, settings.topic("events"), timeout)
    )
    assert ok, f"worker did not catch up on {settings.topic('events')} within {timeout}s"


def rewind_group(settings: Settings, topic: str) -> None:
    """Commit offset 0 on every partition, as if the worker had crashed before committing anything."""

    async def run() -> None:
        consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap, group_id=settings.app_id,
                                    enable_auto_commit=False)  # fmt: skip
        await consumer.start()
        try:
            await consumer._client.force_metadata_update()
            tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or set()]
            consumer.assign(tps)
            await consumer.commit({tp: 0 for tp in tps})
        finally:
            await consumer.stop()

    asyncio.run(run())


def publish(settings: Settings, *paths: Path | str, version: int | None = None, **changes: object) -> None:
    """Publish workflows to the test's `workflows` topic, as `switchyard workflows publish` does."""
    from agents.catalog import plan_publish, write_records
    from agents.kafka_admin import ensure_worker_topics
    from engine.parser import parse_text

    records = []
    for path in paths:
        data = parse_text(Path(path).read_text(), str(path)).data
        if version is not None:
            data = {**data, "version": version}
        records.append(plan_publish({}, {**data, **changes}))
    asyncio.run(ensure_worker_topics(settings))
    asyncio.run(write_records(settings.bootstrap, settings.topic("workflows"), records))


def read_actions(settings: Settings, expect: int, timeout: float = 60.0) -> list[dict[str, Any]]:
    """Every action on every `actions.<channel>` topic, once `expect` of them arrived (or the timeout)."""
    from agents.topics import ACTION_CHANNELS, action_topic

    topics = [settings.topic(action_topic(c)) for c in ACTION_CHANNELS]
    return asyncio.run(collect_values(settings.bootstrap, topics, expect, timeout, single_value))


def single_value(value: bytes) -> list[Any]:
    return [orjson.loads(value)]


def read_step_records(settings: Settings, expect: int, timeout: float = 30.0) -> list[dict[str, object]]:
    """The step records in `analytics` (each value of a pack), once `expect` arrived (or the timeout)."""
    topic = settings.topic("analytics")
    return asyncio.run(collect_values(settings.bootstrap, [topic], expect, timeout, unpack))


async def collect_values(
    bootstrap: str, topics: list[str], expect: int, timeout: float, values: Callable[[bytes], list[Any]]
) -> list[Any]:
    """The `values` of every record of `topics` from the beginning, once `expect` arrived (or the timeout)."""
    consumer = AIOKafkaConsumer(
        *topics, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
        enable_auto_commit=False, group_id=None, metadata_max_age_ms=1000,
    )  # fmt: skip
    await consumer.start()
    out: list[Any] = []
    deadline = time.monotonic() + timeout
    try:
        while len(out) < expect and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=300)).values():
                out.extend(value for r in records if r.value for value in values(r.value))
    finally:
        await consumer.stop()
    return out


def output_of(code: str, env: dict[str, str] | None = None) -> str:
    """What a fresh interpreter prints running ``code`` (in the repository, with ``env`` added to the
    environment); it must exit 0."""
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env={**os.environ, **(env or {})},
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def modules_imported_by(code: str, env: dict[str, str] | None = None) -> set[str]:
    """The modules a fresh interpreter has imported once it has run ``code`` (see `output_of`)."""
    return set(output_of(f"{code}\nimport sys\nprint('\\n'.join(sys.modules))\n", env).split())
