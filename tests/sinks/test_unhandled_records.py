"""A record a sink channel cannot handle at all goes to `actions.dlq` as `sink_error`, and the channel's
partition goes on with the next record (it used to be retried forever and hold the partition)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest

from sinks.attempts import ActionExecutor
from sinks.output import Output
from sinks.ratelimit import TokenBucket
from sinks.records import Action, Delivery, OutcomeEvent
from sinks.runner import ChannelRunner
from sinks.settings import SinkSettings
from sinks.store import SinkStore
from tests.agents.fixtures import produce, read_topic

pytestmark = pytest.mark.kafka


class UnwritableOutcome:
    """A task channel whose outcome for one action cannot be written as JSON (a handler bug)."""

    channel = "task"

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def handle(self, action: Action, attempt: int) -> Delivery:
        if action.action_id == "bad":
            return Delivery([OutcomeEvent("task.created", {"ids": {1, 2}})])  # a set: not JSON
        return Delivery([OutcomeEvent("task.created", {"title": action.params.get("title")})])


def action(action_id: str) -> bytes:
    return orjson.dumps({"action_id": action_id, "channel": "task", "type": "create_task",
                         "contact_id": "c1", "params": {"title": action_id}})  # fmt: skip


def test_an_unhandled_record_is_dead_lettered_and_the_partition_goes_on(
    sink_settings: SinkSettings, tmp_path: Path
) -> None:
    async def run() -> None:
        topic = sink_settings.topic("actions.task")
        await produce(sink_settings.bootstrap, topic, [(b"c1", action("bad")), (b"c1", action("good"))])
        output = Output(sink_settings.bootstrap, sink_settings.topic_prefix)
        await output.start()
        store = SinkStore(tmp_path / "store")
        executor = ActionExecutor("task", UnwritableOutcome(), store, sink_settings.retry, TokenBucket(0))
        runner = ChannelRunner(sink_settings, "task", executor, output)
        stop = asyncio.Event()
        task = asyncio.create_task(runner.run(stop))
        try:
            outcomes = await read_topic(sink_settings.bootstrap, sink_settings.topic("events"), 1, 30)
            dead = await read_topic(sink_settings.bootstrap, sink_settings.topic("actions.dlq"), 1, 30)
        finally:
            stop.set()
            await task
            await output.stop()
            store.close()
        assert [orjson.loads(o.value or b"")["event_id"] for o in outcomes] == ["good:task.created"]
        [letter] = [orjson.loads(d.value or b"") for d in dead]
        assert letter["reason"] == "sink_error"
        assert orjson.loads(letter["action"]["raw"])["action_id"] == "bad"
        assert (letter["topic"], letter["offset"]) == (topic, 0)

    asyncio.run(run())
