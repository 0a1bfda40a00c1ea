"""The event contract: decode_event accepts exactly what schemas/event.schema.json describes."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.events import MAX_TS, MIN_TS, Limits, Malformed, decode_event
from engine.types import Event

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "engine/schema/event.schema.json").read_text())
LIMITS = Limits(max_bytes=2048)
GOOD_TS = 1_763_900_000_000
GOOD: dict[str, object] = {
    "event_id": "e1",
    "contact_id": "c1",
    "type": "email.opened",
    "ts": GOOD_TS,
    "properties": {"a": 1},
}


def decode(doc: object, key: bytes | None = b"c1") -> Event | Malformed:
    return decode_event(orjson.dumps(doc), key, LIMITS)


def accepted(doc: object) -> Event:
    result = decode(doc)
    assert not isinstance(result, Malformed), result
    return result


def refused(raw: bytes, key: bytes | None = b"c1") -> Malformed:
    result = decode_event(raw, key, LIMITS)
    assert isinstance(result, Malformed), result
    return result


def test_a_good_event_decodes_with_ts_in_ms() -> None:
    assert accepted(GOOD) == GOOD
    assert accepted({**GOOD, "ts": "2025-11-23T12:13:20Z"})["ts"] == 1_763_900_000_000
    assert accepted({k: v for k, v in GOOD.items() if k != "properties"})["properties"] == {}


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        ({k: v for k, v in GOOD.items() if k != "type"}, "missing_field"),
        ({**GOOD, "extra": 1}, "unknown_field"),
        ({**GOOD, "contact_id": 5}, "wrong_type"),
        ({**GOOD, "contact_id": "   "}, "bad_contact_id"),
        ({**GOOD, "contact_id": "a\nb"}, "bad_contact_id"),
        ({**GOOD, "event_id": ""}, "bad_event_id"),
        ({**GOOD, "type": "has space"}, "bad_type"),
        ({**GOOD, "ts": True}, "wrong_type"),
        ({**GOOD, "ts": 1.5e12}, "wrong_type"),
        ({**GOOD, "ts": "2025-11-23T12:13:20"}, "bad_ts"),
        ({**GOOD, "ts": 1_763_900_000}, "ts_out_of_range"),
        ({**GOOD, "ts": MAX_TS + 1}, "ts_out_of_range"),
        ({**GOOD, "properties": "x"}, "wrong_type"),
        ({**GOOD, "properties": {"blob": "x" * 3000}}, "oversized"),
    ],
)
def test_malformed_documents_name_their_reason(doc: dict[str, object], reason: str) -> None:
    result = decode(doc)
    assert isinstance(result, Malformed) and result.reason == reason, result
    assert result.detail


def test_bytes_level_problems() -> None:
    assert decode_event(None, b"c1", LIMITS) == Malformed("empty", "the record has no value")
    assert refused(b"\xff\xfe").reason == "not_utf8"
    assert refused(b"{").reason == "not_json"
    assert refused(b"[1]").reason == "not_object"
    assert refused(orjson.dumps(GOOD), key=b"other").reason == "key_mismatch"
    assert refused(orjson.dumps(GOOD), key=None).reason == "key_mismatch"


def test_seconds_instead_of_milliseconds_gets_a_hint() -> None:
    result = decode({**GOOD, "ts": 1_763_900_000})
    assert isinstance(result, Malformed) and "seconds" in result.detail


def test_a_future_limit_is_applied() -> None:
    result = decode_event(orjson.dumps(GOOD), b"c1", Limits(max_ts=GOOD_TS - 1))
    assert isinstance(result, Malformed) and result.reason == "ts_out_of_range"


documents = st.fixed_dictionaries(
    {},
    optional={
        "event_id": st.one_of(st.text(max_size=5), st.integers(min_value=-(2**40), max_value=2**40)),
        "contact_id": st.one_of(st.text(max_size=5), st.none()),
        "type": st.one_of(st.sampled_from(["a.b", "purchase", "bad type", ""]), st.integers(0, 9)),
        "ts": st.one_of(
            st.integers(min_value=0, max_value=2 * MAX_TS), st.booleans(), st.just("2025-01-01T00:00:00Z")
        ),
        "properties": st.one_of(
            st.dictionaries(st.text(max_size=3), st.integers(-(2**63), 2**63 - 1), max_size=2),
            st.lists(st.none()),
        ),
        "other": st.integers(0, 9),
    },
)


@given(documents)
def test_decoder_and_published_schema_agree(doc: dict[str, object]) -> None:
    contact_id = doc.get("contact_id")
    key = contact_id.encode() if isinstance(contact_id, str) else b"k"
    accepted = not isinstance(decode_event(orjson.dumps(doc), key, Limits()), Malformed)
    validator = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
    schema_ok = validator.is_valid(doc)
    assert accepted == schema_ok, (doc, accepted, schema_ok)


def test_integers_beyond_64_bits_become_floats_as_documented() -> None:
    big = b"1" + b"0" * 20
    raw = b'{"event_id":"e","contact_id":"c1","type":"a","ts":1763900000000,"properties":{"n":%s}}' % big
    result = decode_event(raw, b"c1", LIMITS)
    assert not isinstance(result, Malformed) and result["properties"]["n"] == 1e20


def test_min_and_max_ts_are_the_schema_bounds() -> None:
    ts_int = SCHEMA["properties"]["ts"]["oneOf"][0]
    assert (ts_int["minimum"], ts_int["maximum"]) == (MIN_TS, MAX_TS)
