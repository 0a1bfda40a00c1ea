"""What a sink does at its edges, without a broker: a revoked partition starts nothing new, a lifted rate
releases its waiters, a dead letter always fits in a Kafka record, an action that has used its attempts
is not tried again, and an HTTP answer is read within bounds (real loopback servers)."""

from __future__ import annotations

import asyncio
from collections import deque
from pathlib import Path

import orjson
import pytest
from aiohttp import web
from aiokafka import ConsumerRecord, TopicPartition

from sinks.attempts import NO_ATTEMPT_LEFT, ActionExecutor
from sinks.channels import DLQ_TOPIC
from sinks.exceptions import PermanentFailure
from sinks.http_delivery import MAX_ANSWER_BYTES, HttpDelivery, parse_retry_after
from sinks.output import Output
from sinks.ratelimit import TokenBucket
from sinks.records import MAX_RAW_CHARS, Action, Delivery, parse_action
from sinks.runner import ChannelRunner
from sinks.settings import RetryPolicy, SinkSettings
from sinks.store import SinkStore
from sinks.task_sink import due_at
from sinks.webhook_sink import extra_headers

KAFKA_RECORD_LIMIT = 1024 * 1024  # the producer's max_request_size and the broker's message limit


class Blocking:
    """A task channel whose attempts never finish by themselves; it notes which actions it started."""

    channel = "task"

    def __init__(self) -> None:
        self.started: list[str] = []
        self.calls = 0

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def handle(self, action: Action, attempt: int) -> Delivery:
        self.calls += 1
        self.started.append(action.action_id)
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


def action_bytes(action_id: str, contact: str = "c1") -> bytes:
    return orjson.dumps({"action_id": action_id, "channel": "task", "type": "create_task",
                         "contact_id": contact, "params": {"title": action_id}})  # fmt: skip


def consumer_record(tp: TopicPartition, offset: int, value: bytes) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(tp.topic, tp.partition, offset, 0, 0, f"c{offset}".encode(), value, None, 2,
                          len(value), ())  # fmt: skip


def executor(tmp_path: Path, handler: Blocking, policy: RetryPolicy | None = None) -> ActionExecutor:
    return ActionExecutor(
        "task", handler, SinkStore(tmp_path / "store"), policy or RetryPolicy(), TokenBucket(0)
    )


def test_a_revoked_partition_starts_none_of_its_waiting_actions(tmp_path: Path) -> None:
    async def run() -> None:
        settings = SinkSettings("127.0.0.1:1", "app", "", tmp_path, in_flight_per_partition=2)
        handler = Blocking()
        runner = ChannelRunner(settings, "task", executor(tmp_path, handler), Output("127.0.0.1:1", ""))
        tp = TopicPartition("actions.task", 0)
        runner.backlog[tp] = deque(consumer_record(tp, n, action_bytes(f"a{n}", f"c{n}")) for n in range(4))
        runner._fill(tp)
        await asyncio.sleep(0.05)
        assert handler.started == ["a0", "a1"]  # the window of two
        await runner._abandon([tp])
        await asyncio.sleep(0.05)
        assert handler.started == ["a0", "a1"], "a waiting action started on a revoked partition"
        assert not runner.tasks and not runner.backlog and not runner.last_of_contact

    asyncio.run(run())


def test_a_limit_lifted_while_attempts_wait_releases_them() -> None:
    async def run() -> None:
        bucket = TokenBucket(0.5, burst=1)  # one token now, the next in 2 s
        await bucket.acquire()
        waiters = [asyncio.create_task(bucket.acquire()) for _ in range(3)]
        await asyncio.sleep(0.05)
        bucket.rate = 0.0  # a newer policy: no limit
        done, pending = await asyncio.wait(waiters, timeout=1.0)
        assert not pending and all(task.exception() is None for task in done)

    asyncio.run(run())


@pytest.mark.parametrize("raw", [b"\x01" * 200_000, b"\xff\xfe" * 300_000, b"{" * 900_000])
def test_the_dead_letter_of_an_unreadable_record_fits_in_a_kafka_record(tmp_path: Path, raw: bytes) -> None:
    [letter] = asyncio.run(executor(tmp_path, Blocking()).execute(b"c1", raw))
    encoded = orjson.dumps(letter.value)
    assert letter.topic == DLQ_TOPIC and len(encoded) < KAFKA_RECORD_LIMIT // 2
    assert letter.value["action"]["raw_truncated"] is True and letter.value["action"]["raw_bytes"] == len(raw)
    assert len(letter.value["action"]["raw"]) == MAX_RAW_CHARS


def test_a_short_unreadable_record_is_kept_whole(tmp_path: Path) -> None:
    [letter] = asyncio.run(executor(tmp_path, Blocking()).execute(b"c1", b"not json"))
    assert letter.value["action"] == {"raw": "not json"} and letter.value["reason"] == "malformed_action"


def test_an_action_whose_attempts_all_ended_with_the_process_fails_without_another(tmp_path: Path) -> None:
    handler = Blocking()
    work = executor(tmp_path, handler, RetryPolicy(max_attempts=3))
    work.store.record_attempt("a1", 3)  # three attempts started, none came back: each took the process down
    records = asyncio.run(asyncio.wait_for(work.execute(b"c1", action_bytes("a1")), 10))
    assert handler.calls == 0
    letter, failed = records
    assert (
        letter.topic == DLQ_TOPIC
        and letter.value["attempts"] == 3
        and letter.value["error"] == NO_ATTEMPT_LEFT
    )
    assert failed.value["type"] == "action.failed"


class Peer:
    """A loopback HTTP peer with one answer for every request."""

    def __init__(self, status: int, headers: dict[str, str], body_bytes: int) -> None:
        self.status, self.headers, self.body_bytes = status, headers, body_bytes
        self.requests = 0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        response = web.StreamResponse(status=self.status, headers=self.headers)
        await response.prepare(request)
        chunk = b"x" * 65536
        sent = 0
        try:
            while sent < self.body_bytes:
                await response.write(chunk)
                sent += len(chunk)
        except (ConnectionResetError, RuntimeError):
            pass  # the client stopped reading: what this test wants
        return response


async def post_to(peer: Peer) -> tuple[int, int]:
    app = web.Application()
    app.router.add_post("/", peer.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    delivery = HttpDelivery(2, 20)
    await delivery.start()
    try:
        answer = await delivery.post_json(f"http://127.0.0.1:{port}/", {"a": 1}, "a1")
        return answer.status, len(answer.body)
    finally:
        await delivery.close()
        await runner.cleanup()


def test_a_delivered_request_with_an_odd_retry_after_is_delivered() -> None:
    assert parse_retry_after("²") is None and parse_retry_after("٣") is None and parse_retry_after("3") == 3.0
    assert asyncio.run(post_to(Peer(200, {"Retry-After": "²"}, 10))) == (200, 65536)


def test_an_endless_answer_is_read_up_to_its_bound() -> None:
    status, size = asyncio.run(post_to(Peer(200, {}, 64 * MAX_ANSWER_BYTES)))
    assert (status, size) == (200, MAX_ANSWER_BYTES)


def test_odd_params_fail_permanently_with_a_clear_error() -> None:
    """Retried, they would fail the same way every time: refused on the first attempt."""
    with pytest.raises(PermanentFailure, match="hold a control character"):
        extra_headers({"headers": {"X-Note": "a\r\nX-Injected: 1"}})
    assert extra_headers({"headers": {"X-Note": "plain"}}) == {"X-Note": "plain"}
    for due in (None, [1], 1.5):
        action = parse_action(orjson.dumps({"action_id": "t1", "channel": "task", "type": "create_task",
                                            "contact_id": "c1", "ts": 1_767_261_600_000,
                                            "params": {"title": "x", "due": due}}))  # fmt: skip
        with pytest.raises(PermanentFailure, match="bad due"):
            due_at(action)
