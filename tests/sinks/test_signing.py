"""Webhook signatures: the documented algorithm, tampering and replays; plus the pure helpers."""

from __future__ import annotations

import hashlib
import hmac

from aiokafka import TopicPartition

from sinks.address_guard import address_refusal, host_allowed
from sinks.backoff import retry_delay_s, worst_case_retry_s
from sinks.http_delivery import parse_retry_after
from sinks.progress import PartitionProgress
from sinks.settings import RetryPolicy, parse_teams
from sinks.signing import sign, signed_headers, verify_signature

NOW = 1_763_900_000


def documented_signature(secret: str, timestamp: int, body: bytes) -> str:
    """docs/sinks.md, written out independently of sinks/signing.py."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def test_signature_follows_the_documented_algorithm() -> None:
    body = b'{"id":"a-1","data":{"x":1}}'
    headers = signed_headers("s3cret", NOW, body)
    assert headers["X-Switchyard-Timestamp"] == str(NOW)
    assert headers["X-Switchyard-Signature"] == documented_signature("s3cret", NOW, body)
    assert verify_signature("s3cret", str(NOW), body, headers["X-Switchyard-Signature"], now_s=NOW + 10)


def test_tampered_body_wrong_secret_and_old_timestamp_fail() -> None:
    body = b'{"amount":10}'
    signature = sign("s3cret", NOW, body)
    assert not verify_signature("s3cret", NOW, b'{"amount":99}', signature, now_s=NOW)
    assert not verify_signature("other", NOW, body, signature, now_s=NOW)
    assert not verify_signature("s3cret", NOW, body, signature, tolerance_s=300, now_s=NOW + 301)
    assert not verify_signature("s3cret", NOW + 1, body, signature, now_s=NOW)  # timestamp is signed too
    assert not verify_signature("s3cret", "not-a-number", body, signature, now_s=NOW)
    assert verify_signature("s3cret", NOW, body, f"v1=00ff,{signature}", now_s=NOW)  # rotation


def test_backoff_is_capped_exponential_with_deterministic_jitter() -> None:
    policy = RetryPolicy(max_attempts=6, base_delay_s=1.0, max_delay_s=8.0)
    delays = [retry_delay_s(policy, "a-1", attempt) for attempt in range(1, 7)]
    assert delays == [retry_delay_s(policy, "a-1", attempt) for attempt in range(1, 7)]
    for attempt, delay in enumerate(delays, start=1):
        step = min(8.0, 2 ** (attempt - 1))
        assert step / 2 <= delay <= step
    assert [retry_delay_s(policy, f"a-{n}", 3) for n in range(20)] != [delays[2]] * 20  # ids spread out
    assert retry_delay_s(policy, "a-1", 1, retry_after_s=120) == policy.max_retry_after_s
    assert worst_case_retry_s(policy) == 1 + 2 + 4 + 8 + 8


def test_commit_point_is_the_lowest_unfinished_offset() -> None:
    tp = TopicPartition("t", 0)
    progress = PartitionProgress()
    for offset in range(10, 15):
        progress.seen(tp, offset)
    for offset in (11, 12, 14):
        progress.finished(tp, offset)
    assert progress.to_commit() == {tp: 10}
    progress.committed({tp: 10})
    assert progress.to_commit() == {}
    progress.finished(tp, 10)
    assert progress.to_commit() == {tp: 13}
    progress.finished(tp, 13)
    assert progress.commit_point(tp) == 15


def test_address_and_host_rules() -> None:
    assert address_refusal("93.184.216.34") is None
    assert "loopback" in (address_refusal("127.0.0.1") or "")
    assert "private" in (address_refusal("192.168.1.9") or "")
    assert "link-local" in (address_refusal("fe80::1") or "")
    assert "loopback" in (address_refusal("::ffff:127.0.0.1") or "")
    assert address_refusal("0.0.0.0") is not None
    assert host_allowed("hooks.example.com", ("*.example.com",))
    assert not host_allowed("example.com.evil.io", ("*.example.com", "example.com"))
    assert host_allowed("anything.io", ())


def test_retry_after_forms_and_team_config() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now_s=1445412470.0) == 10.0
    assert parse_retry_after("soon") is None
    assert parse_teams("sales=ana,ben;legal=li") == {"sales": ("ana", "ben"), "legal": ("li",)}
