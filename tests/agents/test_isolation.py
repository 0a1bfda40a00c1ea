"""Fault injection against the real broker: one batch holds, for different contacts, a 300-deep property, a
state-size bomb, an event that makes the engine raise, a scoring failure and a corrupt state row. Only
those events are dead-lettered (with their reasons); every other contact, in that batch and later ones, is
exact; the worker, the analytics writer and the sinks, run on the same topics, stay up."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from pathlib import Path

import orjson
import pytest

from agents.changelog import changelog_topic, latest_by_key
from agents.kafka_admin import create_topics, ensure_worker_topics
from agents.partitioning import partition_for
from agents.settings import Settings
from agents.topic_reader import read_to_end
from agents.worker_process import WorkerProcess
from engine.step import step
from engine.types import ContactState
from engine.workflows import WorkflowSet
from sinks.service import READY_LINE
from tables.codec import StateLimits, encode_checked
from tables.contacts import CONTACTS_TABLE
from tables.exceptions import StateTooLarge
from tests.agents.faulty_worker import ENGINE_FAULT, SCORING_FAULT
from tests.agents.fixtures import event, produce, read_topic, wait_processed
from tests.sinks.analytics.fixtures import WriterProcess, free_port, wait_until

pytestmark = pytest.mark.kafka
T0 = int(time.time() * 1000) - 3_600_000
HEALTHY = [f"h{i}" for i in range(8)]
# Rows no worker wrote: bytes that are not JSON, and a versioned object whose version is a string.
CORRUPT_ROWS = {
    "corrupt": b"\x00\x01 not a state",
    "oddstate": b'{"v": "1", "contact_id": "oddstate", "offset": 3}',
}


def deep_event(contact: str, levels: int) -> bytes:
    """Valid by the contract except for depth; written as text because orjson cannot write it."""
    props = '{"x":' * (levels - 1) + "{}" + "}" * (levels - 1)
    head = f'{{"event_id":"{contact}-deep","contact_id":"{contact}","type":"form.submitted","ts":{T0},'
    return (head + f'"properties":{props}}}').encode()


def bomb_events() -> list[bytes]:
    """Twenty contact.updated events of ~60 KB of new attributes each (under the 64 KB event limit)."""
    return [
        event("bomb", "contact.updated", T0 + i, **{f"a{i}_{j}": chr(97 + j) * 15_000 for j in range(4)})
        for i in range(20)
    ]


def expected_state(events: list[bytes]) -> ContactState | None:
    """The pure engine over exactly these events (no workflows), skipping what would break the state
    limits, as the worker must."""
    state: ContactState | None = None
    for raw in events:
        doc = orjson.loads(raw)
        candidate = step(state, doc, WorkflowSet(), doc["ts"]).state
        try:
            encode_checked(candidate, StateLimits())
        except StateTooLarge:
            continue
        state = candidate
    return state


def comparable(state: ContactState | None) -> dict[str, object]:
    """What the events decide in a state (the models' own part and predicted.* events aside)."""
    assert state is not None
    profile = state["profile"]
    counts = {k: v for k, v in profile["counts"].items() if not k.startswith("predicted.")}
    return {"attrs": profile["attrs"], "tags": profile["tags"], "counts": counts,
            "first_seen": profile["first_seen"], "last_seen": profile["last_seen"]}  # fmt: skip


def read_states(settings: Settings, contacts: list[str]) -> dict[bytes, bytes]:
    records = asyncio.run(read_to_end(settings.bootstrap, changelog_topic(settings.app_id, CONTACTS_TABLE)))
    return latest_by_key(records, {c.encode() for c in contacts})


def test_bad_records_cost_only_their_contacts_events(test_settings: Settings, tmp_path: Path) -> None:
    settings = test_settings.with_(batch_within_s=1.0)
    asyncio.run(ensure_worker_topics(settings))
    # The corrupt rows: in the contacts changelog before the worker starts, so its restore loads them.
    changelog = changelog_topic(settings.app_id, CONTACTS_TABLE)
    asyncio.run(create_topics(settings.bootstrap, [changelog], settings.partitions, compact=True))

    async def corrupt_row() -> None:
        from aiokafka import AIOKafkaProducer

        producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap, acks="all")
        await producer.start()
        try:
            for contact, row in CORRUPT_ROWS.items():
                partition = partition_for(contact.encode(), settings.partitions)
                await (await producer.send(changelog, row, key=contact.encode(), partition=partition))
        finally:
            await producer.stop()

    asyncio.run(corrupt_row())

    healthy_first = {c: [event(c, "contact.added", T0, name=c, plan="pro"),
                         event(c, "page.viewed", T0 + 1, path="/pricing", add_tags=["web"])]
                     for c in HEALTHY}  # fmt: skip
    boom_ok = event("boom", "contact.added", T0, name="boom")
    boom_bad = event("boom", ENGINE_FAULT, T0 + 1)
    score_ok = event("score", "contact.added", T0, name="score")
    score_bad = event("score", SCORING_FAULT, T0 + 1)
    deep = deep_event("deep", 300)
    corrupt_events = [event(contact, "page.viewed", T0) for contact in CORRUPT_ROWS]
    bombs = bomb_events()
    wave = [e for c in HEALTHY for e in healthy_first[c]]
    wave[4:4] = [boom_ok, boom_bad, score_ok, score_bad, deep, *corrupt_events, *bombs]
    records = [(orjson.loads(e)["contact_id"].encode() if e is not deep else b"deep", e) for e in wave]

    bad_actions = [(b"sinkc", b"not json at all"),
                   (b"sinkc", ('{"a":' * 299 + "1" + "}" * 299).encode())]  # fmt: skip
    good_action = {"action_id": "act-good", "channel": "task", "type": "create_task", "contact_id": "sinkc",
                   "params": {"title": "Call back", "assignee": "ann"}}  # fmt: skip
    asyncio.run(produce(settings.bootstrap, settings.topic("actions.task"),
                        [*bad_actions, (b"sinkc", orjson.dumps(good_action))]))  # fmt: skip

    worker = WorkerProcess(settings, tmp_path / "worker.log", module="tests.agents.faulty_worker").start()
    writer = WriterProcess(
        settings, f"chdb://{tmp_path / 'analytics'}", tmp_path / "writer.log", free_port(), {}
    )
    sinks = WorkerProcess(
        settings, tmp_path / "sinks.log", ("sinks", "--channel", "task"), READY_LINE.encode()
    )
    try:
        writer.start()
        sinks.start()
        # Sent in one go once the worker runs, so its batch (up to 1 s) holds all of them.
        asyncio.run(produce(settings.bootstrap, settings.topic("events"), records))
        wait_processed(settings)
        healthy_later = {
            c: event(c, "page.viewed", T0 + 10, path="/docs") for c in [*HEALTHY, "boom", "score"]
        }
        asyncio.run(produce(settings.bootstrap, settings.topic("events"),
                            [(c.encode(), e) for c, e in healthy_later.items()]))  # fmt: skip
        wait_processed(settings)

        # Every healthy contact, in the first batch and the later one, is exactly what the engine says.
        stored = read_states(settings, [*HEALTHY, "boom", "score", "bomb", *CORRUPT_ROWS])
        for c in HEALTHY:
            want = expected_state([*healthy_first[c], healthy_later[c]])
            assert comparable(orjson.loads(stored[c.encode()])) == comparable(want), c
        # The failing contacts kept the state they had before the failing event.
        for c, ok in (("boom", boom_ok), ("score", score_ok)):
            assert comparable(orjson.loads(stored[c.encode()])) == comparable(
                expected_state([ok, healthy_later[c]])
            )
        bomb_state = orjson.loads(stored[b"bomb"])
        assert comparable(bomb_state) == comparable(expected_state(bombs))
        assert 0 < len(bomb_state["profile"]["attrs"]) < 4 * len(bombs)  # some applied, the rest refused
        for contact, row in CORRUPT_ROWS.items():
            assert stored[contact.encode()] == row, contact  # nothing overwrote it
        assert b"deep" not in stored

        # Each bad event is in the DLQ with its reason and its original bytes.
        refused_bombs = [
            b for b in bombs if orjson.loads(b)["event_id"] not in _applied_ids(bomb_state, bombs)
        ]
        expected_dlq = {deep: "too_deep", boom_bad: "processing_error", score_bad: "scoring_error",
                        **dict.fromkeys(corrupt_events, "corrupt_state"),
                        **dict.fromkeys(refused_bombs, "state_too_large")}  # fmt: skip
        dead = asyncio.run(
            read_topic(settings.bootstrap, settings.topic("events.dlq"), len(expected_dlq), 30)
        )
        assert {d.value: d.headers["x-switchyard-reason"].decode() for d in dead} == expected_dlq
        assert len(dead) == len(expected_dlq)

        log = (tmp_path / "worker.log").read_text(errors="replace")
        assert "Restarting dead" not in log and "Crashed reason" not in log, "the agent crashed"
        assert worker.alive()

        # The analytics writer dead-letters what it cannot store (the 300-deep event and the two bad
        # action records) and goes on with the rest.
        writer_dlq = asyncio.run(read_topic(settings.bootstrap, settings.topic("analytics.dlq"), 3, 60))
        reasons = sorted(d.headers["x-switchyard-reason"].decode() for d in writer_dlq)
        assert reasons == ["not_json", "too_deep", "too_deep"], reasons
        assert {d.value for d in writer_dlq} == {deep, *(v for _, v in bad_actions)}

        def writer_stats() -> dict[str, object]:
            with urllib.request.urlopen(f"http://127.0.0.1:{writer.port}/health", timeout=5) as answer:
                stats: dict[str, object] = json.loads(answer.read())["stats"]
                return stats

        total = len(wave) + len(healthy_later) + 3  # events and actions.task records
        wait_until(lambda: int(str(writer_stats()["records"])) >= total, 60, lambda: str(writer_stats()))
        assert writer_stats()["skipped"] == 3
        assert writer.alive()

        # The task sink dead-letters the two bad action records with their reasons and runs the good one.
        sink_dlq = asyncio.run(read_topic(settings.bootstrap, settings.topic("actions.dlq"), 2, 30))
        assert sorted(orjson.loads(d.value or b"")["reason"] for d in sink_dlq) == [
            "malformed_action",
            "too_deep",
        ]
        outcomes = asyncio.run(read_topic(settings.bootstrap, settings.topic("tasks"), 1, 30))
        assert [orjson.loads(o.value or b"")["task_id"] for o in outcomes] == ["act-good"]
        assert sinks.alive()
    finally:
        sinks.stop()
        writer.stop()
        worker.stop()


def _applied_ids(state: ContactState, bombs: list[bytes]) -> set[str]:
    """The bomb events whose attributes are in the state."""
    attrs = state["profile"]["attrs"]
    return {orjson.loads(b)["event_id"] for b in bombs if set(orjson.loads(b)["properties"]) <= set(attrs)}
