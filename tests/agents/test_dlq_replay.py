"""`switchyard dlq list|replay`: dead letters chosen by reason and time go back to `events` with their
original key and bytes; the others stay where they are."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiokafka import AIOKafkaProducer

from agents.dlq import REPLAY_HEADER
from agents.kafka_admin import ensure_worker_topics
from agents.settings import Settings
from switchyard.cli import main
from tests.agents.fixtures import event, read_topic

pytestmark = pytest.mark.kafka
DAY = 86_400_000


def dead_letters(now: int) -> list[tuple[bytes, bytes, str, int]]:
    """(key, value, reason, dead-lettered at)."""
    return [
        (b"a", event("a", "contact.updated", now - 5, plan="x"), "state_too_large", now - 3 * DAY),
        (b"b", event("b", "contact.updated", now - 4, plan="y"), "state_too_large", now - 60_000),
        (b"c", event("c", "page.viewed", now - 3), "processing_error", now - 30_000),
        (b"d", b'{"not": "an event"}', "missing_field", now - 20_000),
    ]


def test_replay_by_reason_and_time(
    test_settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(ensure_worker_topics(test_settings))
    now = int(time.time() * 1000)
    letters = dead_letters(now)

    async def write() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=test_settings.bootstrap, acks="all")
        await producer.start()
        try:
            for key, value, reason, at in letters:
                headers = [("x-switchyard-reason", reason.encode())]
                await producer.send_and_wait(test_settings.topic("events.dlq"), value, key=key,
                                             headers=headers, timestamp_ms=at)  # fmt: skip
        finally:
            await producer.stop()

    asyncio.run(write())
    for name, value in test_settings.to_env().items():
        monkeypatch.setenv(name, value)

    assert main(["dlq", "list"]) == 0
    assert "state_too_large\t2" in capsys.readouterr().out
    assert main(["dlq", "replay", "--reason", "state_too_large", "--since", "1d", "--dry-run"]) == 0
    assert "would replay 1 of 4" in capsys.readouterr().out

    assert main(["dlq", "replay", "--reason", "state_too_large", "--reason", "processing_error",
                 "--since", "1d"]) == 0  # fmt: skip
    replayed = asyncio.run(read_topic(test_settings.bootstrap, test_settings.topic("events"), 3, timeout=5))
    assert sorted((r.key, r.value) for r in replayed) == sorted((k, v) for k, v, _, _ in letters[1:3])
    assert all(REPLAY_HEADER in r.headers for r in replayed)
    assert main(["dlq", "list", "--until", "2d"]) == 0  # only the one dead-lettered three days ago
    assert capsys.readouterr().out.splitlines()[-1] == "total\t1"
