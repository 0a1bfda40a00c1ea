"""The worker's workflow catalog reader on a fresh topic prefix: a workflow saved after start-up takes effect
within seconds, also when the first offset requests for the new topic fail (NotLeaderForPartition)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.consumer.fetcher import Fetcher
from aiokafka.errors import NotLeaderForPartitionError

from agents.catalog import plan_publish, write_records
from agents.definitions import DefinitionCache
from agents.kafka_admin import create_topics
from agents.settings import Settings
from engine.parser import parse_text
from tests.agents.fixtures import WorkerFactory, event, produce_events, publish, read_actions
from tests.fixtures import running

pytestmark = pytest.mark.kafka
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "workflows"


def welcome_record() -> tuple[bytes, bytes]:
    path = EXAMPLES / "welcome_series.yaml"
    return plan_publish({}, parse_text(path.read_text(), str(path)).data)


def test_reader_catches_up_after_not_leader_errors_on_a_new_topic(
    test_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic = test_settings.topic("workflows")
    failed: list[str] = []
    real = Fetcher._proc_offset_request

    async def not_leader_at_first(self: Fetcher, node_id: int, topic_data: dict[str, Any]) -> Any:
        if topic in topic_data and len(failed) < 4:  # what a broker answers before it leads the partition
            failed.append(topic)
            raise NotLeaderForPartitionError(f"{topic}[0]")
        return await real(self, node_id, topic_data)

    monkeypatch.setattr(Fetcher, "_proc_offset_request", not_leader_at_first)

    async def run() -> float:
        cache = DefinitionCache(test_settings.bootstrap, topic)
        async with running(cache.run()):
            await asyncio.wait_for(cache.loaded.wait(), 10)  # no catalog yet: nothing to wait for
            await create_topics(test_settings.bootstrap, [topic], 1, compact=True)
            await write_records(test_settings.bootstrap, topic, [welcome_record()])
            saved = time.monotonic()
            while cache.current().get("welcome_series", 1) is None:
                assert time.monotonic() - saved < 20, f"the reader never caught up (failed {len(failed)}x)"
                await asyncio.sleep(0.1)
            return time.monotonic() - saved

    took = asyncio.run(run())
    assert len(failed) == 4, "the injected NotLeaderForPartition answers were never asked for"
    assert took < 20


def test_a_reader_that_stops_getting_records_is_started_again(
    test_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever wedges a reader (the reported one never caught up until a restart), it does not stay so."""
    topic = test_settings.topic("workflows")
    wedged: list[AIOKafkaConsumer] = []
    real = AIOKafkaConsumer.getmany

    async def first_reader_gets_nothing(self: AIOKafkaConsumer, *tps: Any, timeout_ms: int = 0,
                                        max_records: int | None = None) -> Any:  # fmt: skip
        if not wedged:
            wedged.append(self)
        if self is wedged[0]:
            await asyncio.sleep(timeout_ms / 1000)
            return {}
        return await real(self, *tps, timeout_ms=timeout_ms, max_records=max_records)

    monkeypatch.setattr(AIOKafkaConsumer, "getmany", first_reader_gets_nothing)

    async def run() -> None:
        await create_topics(test_settings.bootstrap, [topic], 1, compact=True)
        await write_records(test_settings.bootstrap, topic, [welcome_record()])
        cache = DefinitionCache(test_settings.bootstrap, topic, stall_check_s=1.0)
        async with running(cache.run()):
            await asyncio.wait_for(cache.loaded.wait(), 20)
        assert cache.current().get("welcome_series", 1) is not None

    asyncio.run(run())
    assert len(wedged) == 1


def test_workflow_published_after_a_fresh_worker_started_is_live_within_seconds(
    test_settings: Settings, worker_factory: WorkerFactory
) -> None:
    settings = test_settings.with_(ml=False)
    worker = worker_factory.start(settings)  # the `workflows` topic does not exist yet
    publish(settings, EXAMPLES / "welcome_series.yaml")  # creates it and writes the definition
    saved = time.monotonic()
    actions: list[dict[str, object]] = []
    sent = 0
    while not actions:
        assert time.monotonic() - saved < 20, f"workflow not live after 20 s:\n{worker.log_tail()}"
        sent += 1
        ts = int(time.time() * 1000)
        produce_events(settings, [event(f"new{sent}", "contact.added", ts, source="signup")])
        actions = read_actions(settings, expect=1, timeout=1.0)
    assert actions[0]["channel"] == "email"
    assert orjson.loads(orjson.dumps(actions[0]))["contact_id"].startswith("new")
    assert time.monotonic() - saved < 20
