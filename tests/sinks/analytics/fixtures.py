"""Fixtures for analytics tests: a chdb store per test (one engine path per test process, one database per
test), step/event/action record builders, and the writer as a real child process."""

from __future__ import annotations

import asyncio
import json
import socket
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from agents.settings import Settings
from agents.worker_process import WorkerProcess
from engine.events import Limits
from engine.packing import pack
from sinks.analytics.batch import ColumnBatch
from sinks.analytics.migrations import prepare
from sinks.analytics.records import TableRows, action_rows, event_rows, recommendation_rows, step_rows
from sinks.analytics.routing import TopicRouter
from sinks.analytics.store import AnalyticsStore
from sinks.analytics.writer import READY_LINE, insert_batch

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def chdb_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The one embedded engine path this test process may open (chdb allows one per process)."""
    return tmp_path_factory.mktemp("chdb") / "engine"


@pytest.fixture
def fresh_database(chdb_path: Path) -> Iterator[str]:
    """A DSN for a new, empty database of the session engine."""
    name = f"t_{uuid.uuid4().hex[:10]}"
    admin = AnalyticsStore.connect(f"chdb://{chdb_path}")
    admin.command(f"CREATE DATABASE {name}")
    yield f"chdb://{chdb_path}?database={name}"
    admin.command(f"DROP DATABASE IF EXISTS {name} SYNC")
    admin.close()


@pytest.fixture
def store(fresh_database: str) -> Iterator[AnalyticsStore]:
    """A migrated store (tables, materialised views, views) in its own database."""
    connected = AnalyticsStore.connect(fresh_database)
    prepare(connected)
    yield connected
    connected.close()


# ---- record builders ------------------------------------------------------------------------------------


@dataclass
class StepLog:
    """Builds step records as the worker emits them: each call is a new event (source) unless `same_event`."""

    records: list[dict[str, Any]] = field(default_factory=list)
    offset: int = 0
    seq: int = 0

    def add(self, ts: int, contact: str, workflow: str, version: int, run: str | None, node: str | None,
            transition: str, reason: str = "", same_event: bool = False,
            **extra: Any) -> dict[str, Any]:  # fmt: skip
        if same_event:
            self.seq += 1
        else:
            self.offset += 1
            self.seq = 0
        record = {
            "ts": ts, "contact_id": contact, "workflow_id": workflow, "version": version, "run_id": run,
            "node_id": node, "transition": transition, "reason": reason, "event_id": f"e{self.offset}",
            "event_type": extra.pop("event_type", "x"), "source": f"0:{self.offset}", "seq": self.seq,
            **extra,
        }  # fmt: skip
        self.records.append(record)
        return record


def event_doc(event_id: str, contact: str, etype: str, ts: int, **props: Any) -> dict[str, Any]:
    return {"event_id": event_id, "contact_id": contact, "type": etype, "ts": ts, "properties": props}


def action_doc(
    action_id: str, contact: str, workflow: str, node: str, channel: str, ts: int
) -> dict[str, Any]:
    return {"action_id": action_id, "channel": channel, "type": f"send_{channel}", "contact_id": contact,
            "workflow_id": workflow, "version": 1, "run_id": f"run-{contact}", "node_id": node, "ts": ts,
            "params": {"template": "t"}}  # fmt: skip


def outcome_doc(action_id: str, contact: str, etype: str, ts: int) -> dict[str, Any]:
    return event_doc(f"{action_id}:{etype}", contact, etype, ts, action_id=action_id)


def insert_records(
    store: AnalyticsStore,
    steps: Iterable[dict[str, Any]] = (),
    events: Iterable[dict[str, Any]] = (),
    actions: Iterable[dict[str, Any]] = (),
    recommendations: Iterable[dict[str, Any]] = (),
) -> None:
    """Through the writer's own decoders and columnar insert, as one batch; log positions in list order
    (step records packed as the worker packs them, several packs when they are many)."""
    batch = ColumnBatch()
    rows: list[TableRows] = []
    for offset, packed in enumerate(pack([orjson.dumps(r) for r in steps], max_bytes=64 * 1024), start=1):
        step_table_rows, rejected = step_rows(packed, 0, offset)
        assert not rejected, f"step records the writer would dead-letter: {rejected}"
        rows.append(step_table_rows)
    rows += [
        event_rows(orjson.dumps(e), e["contact_id"].encode(), 0, i, Limits()) for i, e in enumerate(events)
    ]
    rows += [action_rows(orjson.dumps(a), 0, i) for i, a in enumerate(actions)]
    rows += [recommendation_rows(orjson.dumps(r)) for r in recommendations]
    for i, table_rows in enumerate(rows):
        batch.add("t", 0, i, table_rows, 0.0)
    insert_batch(store, batch)


# ---- Kafka -----------------------------------------------------------------------------------------------


async def produce_json(bootstrap: str, records: Iterable[tuple[str, str, Any]]) -> None:
    """(topic, key, document) triples, in order (a list document is a pack)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks="all")
    await producer.start()
    try:
        for topic, key, doc in records:
            await producer.send(topic, orjson.dumps(doc), key=key.encode())
        await producer.flush()
    finally:
        await producer.stop()


def create_writer_topics(settings: Settings, partitions: int = 3) -> None:
    from agents.kafka_admin import create_topics

    asyncio.run(create_topics(settings.bootstrap, TopicRouter(settings.topic_prefix, 1).topics(), partitions))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class WriterProcess(WorkerProcess):
    """`switchyard analytics` as a child process, with its own store and report port."""

    def __init__(self, settings: Settings, dsn: str, log_path: Path, port: int, env: dict[str, str]) -> None:
        own = {"SWITCHYARD_ANALYTICS_DSN": dsn, "SWITCHYARD_ANALYTICS_PORT": str(port)}
        super().__init__(settings, log_path, ("analytics",), READY_LINE.encode(), env={**own, **env})
        self.dsn, self.port = dsn, port

    def report(self, name: str, token: str | None = None, **params: Any) -> list[dict[str, Any]]:
        query = "&".join(f"{k}={v}" for k, v in params.items())
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/reports/{name}?{query}")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(request, timeout=60) as response:
            body = json.loads(response.read())
        return [dict(zip(body["columns"], row, strict=True)) for row in body["rows"]]


def wait_until(check: Callable[[], bool], timeout: float, explain: Callable[[], str] = lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    raise AssertionError(f"condition not met within {timeout:.0f}s\n{explain()[-4000:]}")


@pytest.fixture
def writer_factory(tmp_path: Path) -> Iterator[Callable[..., WriterProcess]]:
    started: list[WriterProcess] = []

    def make(settings: Settings, env: dict[str, str] | None = None) -> WriterProcess:
        dsn = f"chdb://{tmp_path / 'writer-analytics'}"
        writer = WriterProcess(settings, dsn, tmp_path / "analytics.log", free_port(), env or {})
        started.append(writer)
        return writer

    yield make
    for writer in started:
        writer.stop()
