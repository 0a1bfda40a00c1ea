"""The pure pieces of loadtest.kafka_bench: latency matching and the event generator."""

from __future__ import annotations

from collections import Counter

import orjson
import pytest

from engine.events import Limits, Malformed, decode_event
from loadtest.kafka_bench import (
    generate_events,
    latency_summary,
    match_latencies,
    one_event_per_contact,
)

BASE_TS = 1_760_000_000_000


def test_latency_summary_and_missing_keys() -> None:
    sent = {b"k1": 1000, b"k2": 1000, b"k3": 1000, b"k4": 1000}
    arrived = {b"k1": 1010, b"k2": 1030, b"k3": 1020, b"other": 5}
    summary = match_latencies(sent, arrived)
    assert (summary.count, summary.missing) == (3, 1)
    assert (summary.p50_ms, summary.max_ms, summary.mean_ms) == (20, 30, 20)
    assert latency_summary([]).count == 0


def test_generator_is_deterministic_and_seeded() -> None:
    first = generate_events(500, 100, base_ts=BASE_TS, seed=3)
    assert first == generate_events(500, 100, base_ts=BASE_TS, seed=3)
    assert first != generate_events(500, 100, base_ts=BASE_TS, seed=4)


@pytest.mark.parametrize(("events", "contacts"), [(2000, 700), (300, 1000), (1000, 1000)])
def test_generator_covers_exactly_the_distinct_contacts(events: int, contacts: int) -> None:
    records = generate_events(events, contacts, base_ts=BASE_TS)
    assert len(records) == events
    assert len({key for key, _ in records}) == min(events, contacts)


def test_generated_events_follow_the_contract() -> None:
    records = generate_events(3000, 500, base_ts=BASE_TS)
    first_type: dict[bytes, str] = {}
    types: Counter[str] = Counter()
    for key, value in records:
        decoded = decode_event(value, key, Limits())
        assert not isinstance(decoded, Malformed), decoded
        first_type.setdefault(key, decoded["type"])
        types[decoded["type"]] += 1
        assert 150 <= len(value) <= 250, value
    assert set(first_type.values()) == {"contact.added"}
    assert {"email.opened", "page.viewed", "link.clicked", "purchase"} <= set(types)


def test_one_event_per_contact_uses_fresh_keys() -> None:
    records = one_event_per_contact(400, base_ts=BASE_TS, prefix="p")
    keys = [key for key, _ in records]
    assert len(set(keys)) == 400
    assert all(orjson.loads(value)["contact_id"].encode() == key for key, value in records)
    assert not set(keys) & {key for key, _ in generate_events(400, 400, base_ts=BASE_TS, prefix="c")}
