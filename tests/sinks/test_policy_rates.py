"""The workspace policy's send rates reach the sinks' token buckets: the tighter of the operator's and the
policy's rate, the newest valid policy winning, a bad one leaving the previous in force."""

from __future__ import annotations

import orjson

from sinks.policy_rates import PolicyRates, tighter
from sinks.ratelimit import TokenBucket


def rates(buckets: dict[str, TokenBucket], operator: dict[str, float]) -> PolicyRates:
    return PolicyRates("127.0.0.1:1", "workflows", buckets, operator)


def publish(view: PolicyRates, version: int, send_rates: dict[str, object]) -> None:
    view.apply(f"#policy@{version}".encode(), orjson.dumps({"version": version, "send_rates": send_rates}))


def test_the_tighter_rate_wins() -> None:
    assert tighter(0.0, None) == 0.0 and tighter(5.0, None) == 5.0
    assert tighter(0.0, 20.0) == 20.0 and tighter(5.0, 20.0) == 5.0 and tighter(50.0, 20.0) == 20.0


def test_a_newer_policy_sets_the_buckets_and_a_bad_or_older_one_does_not() -> None:
    buckets = {"email": TokenBucket(0.0), "sms": TokenBucket(2.0), "webhook": TokenBucket(0.0)}
    view = rates(buckets, {"email": 0.0, "sms": 2.0, "webhook": 0.0})
    view.apply(b"welcome@1", b'{"id": "welcome"}')  # a workflow record: not the sinks' business
    publish(view, 2, {"email": {"max": 600, "per": "1m"}, "sms": {"max": 5, "per": "1s"}})
    assert (buckets["email"].rate, buckets["sms"].rate, buckets["webhook"].rate) == (10.0, 2.0, 0.0)
    publish(view, 1, {"email": {"max": 1, "per": "1s"}})  # older: ignored
    assert buckets["email"].rate == 10.0
    publish(view, 3, {"emial": {"max": 1, "per": "1s"}})  # does not compile: v2 stays
    assert view.policy.version == 2 and buckets["email"].rate == 10.0
    publish(view, 4, {})  # no rates any more: the operator's
    assert (buckets["email"].rate, buckets["sms"].rate) == (0.0, 2.0)
