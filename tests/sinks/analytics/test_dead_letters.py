"""The analytics writer's dead letters always reach Kafka: a record too large to carry again whole is
cut (its headers say from what size and where the whole one is), and a record with neither key nor value
gets an empty key (Kafka refuses a record without both). No broker: the letters are checked as produced."""

from __future__ import annotations

from types import SimpleNamespace

from aiokafka.record.default_records import DefaultRecordBatchBuilder

from sinks.analytics.config import WriterConfig
from sinks.analytics.gateway import StoreGateway
from sinks.analytics.writer import MAX_DEAD_LETTER_VALUE, AnalyticsWriter

KAFKA_RECORD_LIMIT = 1_048_576  # aiokafka's max_request_size and the broker's message.max.bytes


def writer() -> AnalyticsWriter:
    config = WriterConfig(bootstrap="127.0.0.1:1", topic_prefix="t.", group_id="g", dsn="chdb://unused")
    return AnalyticsWriter(config, StoreGateway(config.dsn))


def message(key: bytes | None, value: bytes | None) -> SimpleNamespace:
    return SimpleNamespace(topic="t.events", partition=2, offset=41, key=key, value=value)


def test_a_record_too_large_to_carry_again_is_cut_and_says_so() -> None:
    work = writer()
    big = b"x" * 1_048_400  # fits in Kafka alone, not with the dead letter's headers
    work._dead_letter(message(b"c1", big), "oversized", "d" * 5000)
    [(key, value, headers)] = work.dead
    named = dict(headers)
    assert key == b"c1" and value == big[:MAX_DEAD_LETTER_VALUE]
    assert named["x-switchyard-truncated-from"] == str(len(big)).encode()
    assert (named["x-switchyard-source-topic"], named["x-switchyard-source-offset"]) == (b"t.events", b"41")
    size = DefaultRecordBatchBuilder.estimate_size_in_bytes(key, value, headers)
    assert size < KAFKA_RECORD_LIMIT


def test_a_small_record_is_carried_whole_and_a_null_one_gets_an_empty_key() -> None:
    work = writer()
    work._dead_letter(message(b"c1", b"not json"), "not_json", "events record is not JSON")
    work._dead_letter(message(None, None), "empty", "no value")
    (key, value, headers), (null_key, null_value, _) = work.dead
    assert (key, value) == (b"c1", b"not json") and "x-switchyard-truncated-from" not in dict(headers)
    assert (null_key, null_value) == (b"", None)
