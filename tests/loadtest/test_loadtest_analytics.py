"""A short open-loop run (200 ev/s x 8 s) with the analytics writer on and one `kill -9` of the worker
mid-run: the funnel, step-record, action and per-table counts in ClickHouse equal the oracle's exactly.

Whether the kill lands between the worker's sends and its state write (the moment that makes it send
records again with the same ids) is luck, so after the drain the test also sends a copy of every other
step and action record, as such a worker would: the counts must not move."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from agents.settings import Settings
from agents.topic_reader import read_to_end
from agents.topics import ACTION_CHANNELS, action_topic
from loadtest.run import RunConfig, execute

pytestmark = [pytest.mark.kafka]
CHECKS = ("funnel", "steps", "actions", "totals")


async def send_again(settings: Settings, repeated: Counter[str]) -> None:
    """Every record at an even offset of `analytics` and `actions.*`, produced again unchanged."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap)
    await producer.start()
    try:
        for name in ("analytics", *map(action_topic, ACTION_CHANNELS)):
            topic = settings.topic(name)
            for record in await read_to_end(settings.bootstrap, topic):
                if record.offset % 2 == 0:
                    await producer.send(topic, record.value, key=record.key, partition=record.partition)
                    repeated["steps" if name == "analytics" else "actions"] += 1
        await producer.flush()
    finally:
        await producer.stop()


def test_clickhouse_counts_equal_the_oracles_after_a_kill(test_settings: Settings, tmp_path: Path) -> None:
    repeated: Counter[str] = Counter()
    cfg = RunConfig(
        settings=test_settings, mode="open", rate=200.0, seconds=8.0, events=0, contacts=80, seed=5,
        kills=1, report_dir=tmp_path / "reports", stem="analytics", log_dir=tmp_path / "logs",
        show_progress=False, analytics=True, after_drain=lambda: send_again(test_settings, repeated),
    )  # fmt: skip
    result = asyncio.run(execute(cfg))

    assert len(result.report["chaos"]) == 1
    oracle = result.report["oracle"]
    assert oracle["accuracy_pct"] == 100.0, result.table
    analytics = result.report["analytics"]
    assert analytics["error"] == "", result.table
    for name in CHECKS:
        check = analytics[name]
        assert check["differing"] == [], result.table
        assert check["oracle_total"] == check["clickhouse_total"] > 0, (name, result.table)
    assert analytics["ok"] is True and result.ok
    # not a trivial agreement: several workflows entered, several nodes acted, every action counted
    entered = {r["workflow_id"] for r in analytics["funnel"]["rows"] if r["step"] == "entered"}
    assert len(entered) >= 3, entered
    assert len(analytics["actions"]["rows"]) >= 3
    assert analytics["actions"]["oracle_total"] == oracle["expected"]
    # the repeated records reached ClickHouse as rows, and counted nothing
    assert repeated["steps"] > 0 and repeated["actions"] > 0
    assert oracle["duplicates"] >= repeated["actions"]
    inserted = analytics["writer"]["rows"]
    assert inserted["step_log"] >= analytics["steps"]["clickhouse_total"] + repeated["steps"]
    assert inserted["actions"] >= analytics["actions"]["clickhouse_total"] + repeated["actions"]
    assert (tmp_path / "logs" / "analytics").is_dir()  # the run's own store, kept for `switchyard report`
