"""The event contract's size limits: each enforced by the decoder with its own dead-letter reason."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from engine.events import Limits, Malformed, decode_event

SCHEMA = json.loads((Path(__file__).parents[2] / "engine" / "schema" / "event.schema.json").read_text())
TS = 1_763_900_000_000


def raw_event(properties_json: str) -> bytes:
    head = f'{{"event_id":"e1","contact_id":"c1","type":"contact.updated","ts":{TS},"properties":'
    return (head + properties_json + "}").encode()


def nested(levels: int) -> str:
    """`properties` nested `levels` deep (the properties object itself is level 1), built as text:
    orjson cannot even write 300 levels."""
    return '{"x":' * (levels - 1) + '{"leaf":1}' + "}" * (levels - 1)


def reason(raw: bytes) -> str | None:
    result = decode_event(raw, b"c1", Limits())
    return result.reason if isinstance(result, Malformed) else None


def test_300_levels_are_too_deep_and_32_are_fine() -> None:
    assert reason(raw_event(nested(300))) == "too_deep"
    assert reason(raw_event(nested(33))) == "too_deep"
    assert reason(raw_event(nested(32))) is None


def test_deep_lists_count_as_levels_too() -> None:
    assert reason(raw_event('{"a":' + "[" * 40 + "]" * 40 + "}")) == "too_deep"


def test_property_count() -> None:
    props = {f"k{i}": i for i in range(256)}
    assert reason(raw_event(orjson.dumps(props).decode())) is None
    props["one_more"] = 1
    assert reason(raw_event(orjson.dumps(props).decode())) == "too_many_properties"


@pytest.mark.parametrize("where", ["value", "key", "nested"])
def test_string_length(where: str) -> None:
    long = "x" * 16385
    props = {"value": {"a": long}, "key": {long: 1}, "nested": {"a": [{"b": long}]}}[where]
    assert reason(raw_event(orjson.dumps(props).decode())) == "string_too_long"
    fine = {"a": "x" * 16384}
    assert reason(raw_event(orjson.dumps(fine).decode())) is None


def test_tags_per_event() -> None:
    ok = {"add_tags": [f"t{i}" for i in range(60)], "remove_tags": [f"r{i}" for i in range(40)]}
    assert reason(raw_event(orjson.dumps(ok).decode())) is None
    over = {**ok, "remove_tags": [f"r{i}" for i in range(41)]}
    assert reason(raw_event(orjson.dumps(over).decode())) == "too_many_tags"


def test_schema_states_the_decoders_limits() -> None:
    props = SCHEMA["properties"]["properties"]
    declared = props["x-switchyard-limits"]
    limits = Limits()
    assert declared == {
        "maxDepth": limits.max_depth,
        "maxProperties": limits.max_properties,
        "maxStringLength": limits.max_string,
        "maxTags": limits.max_tags,
    }
    assert props["maxProperties"] == limits.max_properties
