"""kill -9 of the sink process mid-stream, then a restart: nothing missing, no conflicting outcomes."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from pathlib import Path

import pytest

from agents.settings import Settings
from agents.worker_process import WorkerProcess
from sinks.service import READY_LINE
from sinks.settings import SinkSettings
from tests.sinks.fixtures import (
    SECRET,
    Receiver,
    action,
    at_least,
    ensure_topics,
    produce_actions,
    read_json,
    serving,
    wait_until,
)

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

CHILD_ENV = {
    "SWITCHYARD_WEBHOOK_SECRET": SECRET,
    "SWITCHYARD_WEBHOOK_ALLOW_PRIVATE": "true",
    "SWITCHYARD_SINK_ATTEMPTS": "30",
    "SWITCHYARD_SINK_BACKOFF": "0.01",
    "SWITCHYARD_SINK_BACKOFF_MAX": "0.05",
}


async def test_kill9_mid_stream_then_restart(
    test_settings: Settings, sink_settings: SinkSettings, tmp_path: Path
) -> None:
    count = 200
    await ensure_topics(sink_settings, ["webhook"], partitions=test_settings.partitions)
    async with serving(Receiver(fail_rate=0.2, delay_s=0.01)) as receiver:
        actions = [
            action(
                "webhook",
                "webhook",
                n,
                contact=f"c-{n % 37}",
                url=receiver.url("/reject" if n % 10 == 0 else "/hook"),
            )
            for n in range(count)
        ]
        await produce_actions(sink_settings, "webhook", actions)
        sinks = WorkerProcess(
            test_settings, tmp_path / "sinks.log", ("sinks", "--channel", "webhook"), READY_LINE.encode(),
            env=CHILD_ENV,
        )  # fmt: skip
        await asyncio.to_thread(sinks.start)
        await wait_until(lambda: len(receiver.requests) >= count // 4, timeout=60)
        await asyncio.to_thread(sinks.kill9)
        seen_before_restart = len(receiver.requests)
        assert seen_before_restart < count, "the kill came too late to be mid-stream"
        await asyncio.to_thread(sinks.start)
        try:
            events = await read_json(
                sink_settings, "events", lambda v: len({e["event_id"] for e in v}) >= count, timeout=90
            )
        finally:
            await asyncio.to_thread(sinks.stop)
    outcomes: dict[str, set[str]] = defaultdict(set)
    for event in events:
        outcomes[event["properties"]["action_id"]].add(event["type"])
    assert set(outcomes) == {a["action_id"] for a in actions}, "an action has no outcome"
    assert all(len(types) == 1 for types in outcomes.values()), "an action has two different outcomes"
    rejected = {a["action_id"] for n, a in enumerate(actions) if n % 10 == 0}
    assert {a for a, types in outcomes.items() if types == {"webhook.failed"}} == rejected
    assert set(receiver.delivered) == {a["action_id"] for a in actions} - rejected, "a delivery is missing"
    # Repeats after the crash carry the same Idempotency-Key, so the receiver's dedupe absorbs them; only
    # actions in flight at the kill can repeat: at most the in-flight window of each partition.
    window = 16 * test_settings.partitions
    assert sum(receiver.repeats.values()) <= window, receiver.repeats
    await read_json(sink_settings, "actions.dlq", at_least(len(rejected)), timeout=5)
