"""Webhook signatures (Standard Webhooks): the documented algorithm, tampering, replays, rotation and
malformed input; plus the pure helpers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

import pytest
from aiokafka import TopicPartition

from sinks.address_guard import AddressGuard, address_refusal, host_allowed
from sinks.backoff import retry_delay_s, worst_case_retry_s
from sinks.exceptions import SinkConfigError, TargetRefused
from sinks.http_delivery import origin_of, parse_retry_after
from sinks.progress import PartitionProgress
from sinks.settings import RetryPolicy, parse_teams
from sinks.signing import allowed_header, parse_secrets, signed_headers, verify
from tests.sinks.fixtures import OLD_SECRET, SECRET

NOW = 1_763_900_000


def documented_signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The Standard Webhooks algorithm as docs/sinks.md states it, written out independently."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def test_signature_follows_the_documented_algorithm() -> None:
    body = b'{"id":"a-1","data":{"x":1}}'
    headers = signed_headers([SECRET], "a-1", NOW, body)
    assert headers == {
        "webhook-id": "a-1",
        "webhook-timestamp": str(NOW),
        "webhook-signature": documented_signature(SECRET, "a-1", NOW, body),
    }
    rotating = signed_headers([SECRET, OLD_SECRET], "a-1", NOW, body)["webhook-signature"]
    assert rotating.split(" ") == [documented_signature(s, "a-1", NOW, body) for s in (SECRET, OLD_SECRET)]


def test_verification_is_false_on_tampering_other_ids_and_any_malformed_input() -> None:
    now = int(time.time())
    body = b'{"amount":10}'
    headers = signed_headers([SECRET], "a-1", now, body)
    assert verify(SECRET, body, headers)
    assert not verify(SECRET, b'{"amount":99}', headers)
    assert not verify(OLD_SECRET, body, headers)
    assert not verify(SECRET, body, {**headers, "webhook-id": "a-2"})  # the id is signed: no replay as new
    assert not verify(SECRET, body, {**headers, "webhook-timestamp": str(now + 1)})
    assert not verify(SECRET, body, signed_headers([SECRET], "a-1", now - 3600, body))  # too old
    assert verify(OLD_SECRET, body, signed_headers([SECRET, OLD_SECRET], "a-1", now, body))  # rotation
    malformed: list[tuple[Any, Any, Any]] = [
        (SECRET, body, {**headers, "webhook-timestamp": "9" * 400}),  # OverflowError in a naive verifier
        (SECRET, body, {**headers, "webhook-timestamp": "soon"}),
        (SECRET, body, {**headers, "webhook-signature": "v1,@@@"}),
        (SECRET, body, {**headers, "webhook-signature": ""}),
        (SECRET, body, {}),
        (SECRET, body, None),
        (SECRET, None, headers),  # TypeError in a naive verifier
        (SECRET, 12, headers),
        ("whsec_%%%", body, headers),
        ("", body, headers),
        (None, body, headers),
        (SECRET, body, {"webhook-id": 1, "webhook-timestamp": now, "webhook-signature": ["v1,x"]}),
    ]
    for secret, data, given in malformed:
        assert verify(secret, data, given) is False, (secret, data, given)


def test_params_cannot_set_the_headers_the_sender_owns() -> None:
    owned = ["Host", "content-length", "Transfer-Encoding", "Idempotency-Key", "webhook-id",
             "Webhook-Signature", "webhook-timestamp", "X-Switchyard-Anything", "Content-Type"]  # fmt: skip
    for name in owned:
        assert not allowed_header(name), name
    assert allowed_header("Authorization") and allowed_header("X-Api-Key")


def test_secrets_parse_with_rotation_and_bad_ones_fail_at_start() -> None:
    assert parse_secrets(f"{SECRET} {OLD_SECRET}") == (SECRET, OLD_SECRET)
    assert parse_secrets(f"{SECRET},{OLD_SECRET}") == (SECRET, OLD_SECRET)
    assert parse_secrets(None) == ()
    for bad in ("whsec_not*base64", "whsec_" + base64.b64encode(b"short").decode()):
        with pytest.raises(SinkConfigError):
            parse_secrets(bad)


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
    assert "loopback" in (address_refusal("127.0.0.1") or "")  # the log's reason; outcomes say less
    assert "private" in (address_refusal("192.168.1.9") or "")
    assert "link-local" in (address_refusal("fe80::1") or "")
    assert "loopback" in (address_refusal("::ffff:127.0.0.1") or "")
    assert address_refusal("0.0.0.0") is not None
    assert host_allowed("hooks.example.com", ("*.example.com",))
    assert not host_allowed("example.com.evil.io", ("*.example.com", "example.com"))
    assert host_allowed("anything.io", ())


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1/a", "http://127\u30020\u30020\u30021/a", "http://127\uff0e0\uff0e0\uff0e1/a",
     "http://169\u3002254\u3002169\u3002254/latest", "http://[::ffff:127.0.0.1]/", "http://0x7f.1/"],
)  # fmt: skip
def test_urls_are_checked_as_the_client_will_connect(url: str) -> None:
    """Fullwidth and ideographic dots become ASCII ones in the HTTP client: the guard sees the same host."""
    with pytest.raises(TargetRefused):
        AddressGuard((), allow_private=False).check_url(url)
    AddressGuard((), allow_private=False).check_url("https://hooks.example.com/x")  # a public name passes


def test_retry_after_forms_and_team_config() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now_s=1445412470.0) == 10.0
    assert parse_retry_after("soon") is None
    assert parse_teams("sales=ana,ben;legal=li") == {"sales": ("ana", "ben"), "legal": ("li",)}


def test_outcomes_show_where_a_request_went_without_its_path() -> None:
    """A configured URL may carry a secret in its path or query (a chat service's incoming webhook)."""
    assert origin_of("https://hooks.chat.example/services/T0/B0/SECRET") == "https://hooks.chat.example"
    assert origin_of("http://127.0.0.1:8080/x?token=1") == "http://127.0.0.1:8080"
    assert origin_of("http://user:pass@host.example/p") == "http://host.example"
    assert origin_of("not a url") == "(a URL without a host)"
