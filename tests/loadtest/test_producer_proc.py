"""The load test's paced producer against a fake client (no Kafka): it stamps each event with its place in
the open-loop schedule, and ends as soon as a delivery fails."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
import pytest

from engine.types import Event
from loadtest import producer_proc


class FakeBatch:
    def __init__(self, appended: list[tuple[int, bytes]]) -> None:
        self.appended = appended

    def append(self, timestamp: int, key: bytes, value: bytes, headers: Any) -> object:
        self.appended.append((timestamp, value))
        return object()

    def close(self) -> None:
        pass


class FakeProducer:
    """A client whose sends take ``send_s`` (a partition's previous batch still in flight, say) and whose
    deliveries fail ``fail_after_s`` later when that is set."""

    appended: list[tuple[int, bytes]] = []
    send_s = 0.0
    fail_after_s: float | None = None

    def __init__(self, **config: Any) -> None:
        pass

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    def create_batch(self) -> FakeBatch:
        return FakeBatch(self.appended)

    async def send_batch(self, batch: FakeBatch, topic: str, partition: int) -> asyncio.Future[Any]:
        await asyncio.sleep(self.send_s)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self.fail_after_s is None:
            future.set_result(None)
        else:
            asyncio.get_running_loop().call_later(
                self.fail_after_s, future.set_exception, RuntimeError("request timed out")
            )
        return future


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> type[FakeProducer]:
    class Client(FakeProducer):
        appended: list[tuple[int, bytes]] = []

    monkeypatch.setattr(producer_proc, "AIOKafkaProducer", Client)
    monkeypatch.setattr(producer_proc, "say", lambda line: None)
    return Client


def events(count: int) -> list[Event]:
    return [
        {"event_id": f"e{i}", "contact_id": "c1", "type": "x", "ts": 0, "properties": {}}
        for i in range(count)
    ]


def test_each_event_is_stamped_with_its_scheduled_time_not_when_it_left(client: type[FakeProducer]) -> None:
    client.send_s = 0.1  # every send waits 100 ms: the events due meanwhile wait in the producer
    rate, count = 1000.0, 400
    before = int(time.time() * 1000)
    produced = asyncio.run(producer_proc.send_paced("fake:9092", "t", events(count), rate, 1))
    assert produced.sent == produced.acked == count
    stamps = [timestamp for timestamp, _ in client.appended]
    assert stamps == [orjson.loads(value)["ts"] for _, value in client.appended]  # record time = event time
    assert before <= stamps[0] <= before + 50
    late = [abs(stamp - stamps[0] - i * 1000 / rate) for i, stamp in enumerate(stamps)]
    assert max(late) <= 1, max(late)  # event i is due i ms after the first, however long it waited
    assert produced.max_behind_ms >= 50  # and how long the events waited is reported
    assert (produced.first_ts, produced.last_ts) == (stamps[0], stamps[-1])


def test_a_failed_delivery_after_the_last_send_ends_the_run(client: type[FakeProducer]) -> None:
    client.fail_after_s = 0.05  # one batch of 10 records, refused after everything was handed over
    with pytest.raises(RuntimeError, match=r"delivery failed for 10 record\(s\): .*request timed out"):
        asyncio.run(asyncio.wait_for(producer_proc.send_paced("fake:9092", "t", events(10), 1e6, 1), 5.0))
