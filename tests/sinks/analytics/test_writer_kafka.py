"""The writer against the real broker: what it ingests equals what was produced, also across kill -9
between insert and commit, and reports reach it through its loopback endpoint."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import urllib.error
from collections import Counter
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from agents.kafka_admin import end_offsets
from agents.settings import Settings
from engine.topics import DEAD_LETTER_MAX_BYTES
from sinks.analytics.routing import TopicRouter
from tests.fixtures import topic_config
from tests.sinks.analytics.fixtures import (
    REPO,
    StepLog,
    action_doc,
    create_writer_topics,
    event_doc,
    outcome_doc,
    produce_json,
    wait_until,
)

pytestmark = pytest.mark.kafka
T0 = 1_767_607_200_000
WORKFLOWS = ("cart", "welcome")


class Traffic:
    """Runs of two workflows with known fates, their actions, outcomes and some page views."""

    def __init__(self, runs: int) -> None:
        self.steps = StepLog()
        self.events: list[dict[str, Any]] = []
        self.actions: list[dict[str, Any]] = []
        self.expected: Counter[tuple[str, str, str, str]] = Counter()  # (workflow, step, node, why) -> runs
        self.outcomes: Counter[tuple[str, str]] = Counter()  # (status, node)
        for i in range(runs):
            workflow, contact, run = WORKFLOWS[i % 2], f"c{i}", f"r{i}"
            ts = T0 + i * 1000
            self.steps.add(ts, contact, workflow, 1, run, None, "entered", "trigger")
            self.steps.add(ts, contact, workflow, 1, run, "w1", "waited", "2h", same_event=True)
            self.expected[(workflow, "entered", "", "")] += 1
            self.expected[(workflow, "reached", "w1", "")] += 1
            fate = i % 3
            if fate == 0:  # mails and reaches the goal
                self.steps.add(ts + 1, contact, workflow, 1, run, "w1", "resumed", "timer")
                self.steps.add(ts + 1, contact, workflow, 1, run, "mail", "acted", "send", same_event=True)
                self.steps.add(ts + 2, contact, workflow, 1, run, "won", "goal", "goal won reached")
                self.expected[(workflow, "reached", "mail", "")] += 1
                self.expected[(workflow, "reached", "won", "")] += 1
                self.expected[(workflow, "goal", "won", "")] += 1
                self.actions.append(action_doc(f"a{i}", contact, workflow, "mail", "email", ts + 1))
                delivered = i % 2 == 0
                etype = "email.sent" if delivered else "email.bounced"
                self.events.append(outcome_doc(f"a{i}", contact, etype, ts + 5))
                self.outcomes[("sent" if delivered else "failed", workflow)] += 1
            elif fate == 1:  # exits at `done`
                self.steps.add(ts + 1, contact, workflow, 1, run, "done", "exited", "finished")
                self.expected[(workflow, "reached", "done", "")] += 1
                self.expected[(workflow, "exited", "done", "finished")] += 1
            self.events.append(event_doc(f"v{i}", contact, "page.viewed", ts))

    def records(self, settings: Settings) -> list[tuple[str, str, Any]]:
        # Even-numbered contacts' step records go alone, as before packing; the others' go packed as the
        # worker packs them, several contacts' records in one record, in order.
        analytics = settings.topic("analytics")
        single = [r for r in self.steps.records if int(r["contact_id"][1:]) % 2 == 0]
        packed = [r for r in self.steps.records if int(r["contact_id"][1:]) % 2 == 1]
        out: list[tuple[str, str, Any]] = [(analytics, r["contact_id"], r) for r in single]
        out += [(analytics, "pack", packed[i : i + 7]) for i in range(0, len(packed), 7)]
        out += [(settings.topic("actions.email"), a["contact_id"], a) for a in self.actions]
        out += [(settings.topic("events"), e["contact_id"], e) for e in self.events]
        out.append(
            (settings.topic("events"), "c0", {"not": "an event"})
        )  # dead-lettered by the worker: skipped
        return out


def group_lag(settings: Settings) -> int:
    return asyncio.run(group_lag_async(settings))


async def group_lag_async(settings: Settings) -> int:
    """Records of every topic the writer reads that its consumer group has not committed."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap)
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(f"{settings.app_id}-analytics")
    finally:
        await admin.close()
    total = 0
    for topic in TopicRouter(settings.topic_prefix, 1).topics():
        for partition, end in (await end_offsets(settings.bootstrap, topic)).items():
            meta = next(
                (m for tp, m in committed.items() if (tp.topic, tp.partition) == (topic, partition)), None
            )
            total += end - (meta.offset if meta is not None and meta.offset >= 0 else 0)
    return total


def funnel_of(rows: list[dict[str, Any]]) -> Counter[tuple[str, str, str, str]]:
    return Counter({(r["workflow_id"], r["step"], r["node"], r["why"]): r["runs"] for r in rows})


def distinct_ids(writer: Any) -> dict[str, int]:
    try:
        return {r["table_name"]: r["distinct_ids"] for r in writer.report("tables")}
    except (urllib.error.URLError, ConnectionError):
        return {}


def expect_everything(writer: Any, traffic: Traffic) -> None:
    wanted = {"step_log": len(traffic.steps.records), "actions": len(traffic.actions),
              "events": len(traffic.events)}  # fmt: skip
    wait_until(lambda: all(distinct_ids(writer).get(t) == n for t, n in wanted.items()), 90, writer.log_tail)
    assert funnel_of(writer.report("funnel", since_ms=0)) == traffic.expected
    outcomes = writer.report("outcomes", since_ms=0)
    got: Counter[tuple[str, str]] = Counter()
    for row in outcomes:
        got[("sent", row["workflow_id"])] += row["sent"]
        got[("failed", row["workflow_id"])] += row["failed"]
        assert row["pending"] == 0 and row["delivered"] == 0
    assert +got == traffic.outcomes
    per_minute = writer.report("throughput", since_ms=0)
    assert sum(r["events"] for r in per_minute) == len(traffic.events)


def test_writer_ingests_everything_produced_and_serves_reports(
    test_settings: Settings, writer_factory
) -> None:
    create_writer_topics(test_settings)
    traffic = Traffic(90)
    asyncio.run(produce_json(test_settings.bootstrap, traffic.records(test_settings)))
    token = "s3cret"
    writer = writer_factory(test_settings, {"SWITCHYARD_ANALYTICS_BATCH_ROWS": "64",
                                            "SWITCHYARD_ANALYTICS_BATCH_SECONDS": "0.3",
                                            "SWITCHYARD_API_TOKEN": token}).start()  # fmt: skip
    # created by the writer, with the dead-letter record size, not left to the broker's auto-creation
    dead_letters = topic_config(test_settings.bootstrap, test_settings.topic("analytics.dlq"))
    assert dead_letters["max.message.bytes"] == str(DEAD_LETTER_MAX_BYTES)
    with pytest.raises(urllib.error.HTTPError) as refused:
        writer.report("tables")
    assert refused.value.code == 401
    writer.report = lambda name, **params: type(writer).report(writer, name, token=token, **params)
    expect_everything(writer, traffic)
    wait_until(lambda: group_lag(test_settings) == 0, 30)

    # the CLI goes through the writer's endpoint (chdb allows one process per data path)
    env = {**os.environ, **test_settings.to_env(), "SWITCHYARD_ANALYTICS_DSN": writer.dsn,
           "SWITCHYARD_ANALYTICS_PORT": str(writer.port), "SWITCHYARD_API_TOKEN": token}  # fmt: skip
    png = writer.log_path.parent / "funnel.png"
    shown = subprocess.run(
        [sys.executable, "-m", "switchyard.commands.report", "funnel", "--since", "all", "--workflow", "cart",
         "--png", str(png)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert "entered" in shown.stdout and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_kill_9_between_insert_and_commit_counts_nothing_twice_and_loses_nothing(
    test_settings: Settings, writer_factory
) -> None:
    create_writer_topics(test_settings)
    traffic = Traffic(120)
    records = traffic.records(test_settings)
    asyncio.run(produce_json(test_settings.bootstrap, records))
    crash_env = {"SWITCHYARD_ANALYTICS_BATCH_SECONDS": "5", "SWITCHYARD_ANALYTICS_CRASH_AFTER_INSERTS": "1"}
    writer = writer_factory(test_settings, {"SWITCHYARD_ANALYTICS_BATCH_ROWS": "50"})
    for _ in range(2):  # crash twice at the same point: first batch inserted, offsets not committed
        writer.start(extra_env=crash_env, wait_ready=False)
        assert writer.wait_exit(90) == -9, writer.log_tail()
        assert group_lag(test_settings) == len(records)  # nothing committed ...
    # ... yet the rows are in ClickHouse, twice over: the restart has to insert them again
    env = {**os.environ, **test_settings.to_env(), "SWITCHYARD_ANALYTICS_DSN": writer.dsn,
           "SWITCHYARD_ANALYTICS_PORT": "0"}  # fmt: skip
    shown = subprocess.run(
        [sys.executable, "-m", "switchyard.commands.report", "tables", "--json"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    stored = {row[0]: row[1] for row in json.loads(shown.stdout)["rows"]}
    assert sum(stored.values()) >= 49  # at least one batch of 50 records (one may be the skipped bad one)

    writer.start(extra_env={"SWITCHYARD_ANALYTICS_BATCH_SECONDS": "0.3"})
    expect_everything(writer, traffic)
    wait_until(lambda: group_lag(test_settings) == 0, 30)
