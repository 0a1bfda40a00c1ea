"""The event contract: turn raw Kafka bytes into a valid Event, or say exactly why not.

Contract (also schemas/event.schema.json and the README):
  {"event_id": str, "contact_id": str, "type": str, "ts": int epoch ms | RFC 3339 str,
   "properties": object (optional, default {})}, JSON, Kafka key = contact_id.
Decoding is pure: the caller passes the limits, including the latest acceptable time. Besides the record
size, `properties` is bounded in nesting depth, number of top-level keys, string length (keys and values)
and tags per event, so one event cannot break a later stage (orjson encodes at most 255 levels; a contact's
state must fit in one changelog record).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from engine.types import Event

DAY_MS = 86_400_000
MIN_TS = 946_684_800_000  # 2000-01-01T00:00:00Z
MAX_TS = 4_102_444_800_000  # 2100-01-01T00:00:00Z
MAX_ID_LENGTH = 256
MAX_TYPE_LENGTH = 128
REQUIRED = ("event_id", "contact_id", "type", "ts")
TAG_KEYS = ("add_tags", "remove_tags")
_TYPE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-]*")  # whole string: fullmatch
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Malformed:
    """Why some bytes are not an event. `reason` is a stable code, `detail` is for people."""

    reason: str
    detail: str


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 65536
    max_ts: int = MAX_TS
    max_depth: int = 32  # `properties` itself is level 1
    max_properties: int = 256  # top-level keys of `properties`
    max_string: int = 16384  # characters of any string inside `properties`, keys included
    max_tags: int = 100  # entries of `add_tags` plus `remove_tags`


def decode_event(raw: bytes | None, key: bytes | None, limits: Limits) -> Event | Malformed:
    """Decode and validate one Kafka record's value; `key` must equal the contact id."""
    if raw is None:
        return Malformed("empty", "the record has no value")
    if len(raw) > limits.max_bytes:
        return Malformed("oversized", f"{len(raw)} bytes is over the limit of {limits.max_bytes}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Malformed("not_utf8", f"not UTF-8: {exc.reason} at byte {exc.start}")
    try:
        doc = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return Malformed("not_json", f"not JSON: {exc}")
    if not isinstance(doc, dict):
        return Malformed("not_object", f"JSON {type(doc).__name__} where an object was expected")
    return validate_event(doc, key, limits)


def validate_event(doc: dict[str, Any], key: bytes | None, limits: Limits) -> Event | Malformed:
    """Check an already-parsed document against the contract and normalise `ts` to epoch ms."""
    missing = [name for name in REQUIRED if name not in doc]
    if missing:
        return Malformed("missing_field", f"missing field(s): {', '.join(missing)}")
    unknown = sorted(set(doc) - {*REQUIRED, "properties"})
    if unknown:
        return Malformed("unknown_field", f"unknown field(s): {', '.join(unknown)}")
    for name in ("event_id", "contact_id", "type"):
        if not isinstance(doc[name], str):
            return Malformed("wrong_type", f"{name} must be a string, not {type(doc[name]).__name__}")
    event_id: str = doc["event_id"]
    contact_id: str = doc["contact_id"]
    etype: str = doc["type"]
    for name, value in (("event_id", event_id), ("contact_id", contact_id)):
        problem = _id_problem(value)
        if problem:
            return Malformed(f"bad_{name}", f"{name} {problem}")
    if len(etype) > MAX_TYPE_LENGTH or not _TYPE_PATTERN.fullmatch(etype):
        return Malformed(
            "bad_type", f"type {etype[:40]!r} must be 1-{MAX_TYPE_LENGTH} of A-Z a-z 0-9 _ . : -"
        )
    ts = parse_ts(doc["ts"])
    if isinstance(ts, Malformed):
        return ts
    if not MIN_TS <= ts <= limits.max_ts:
        hint = " (it looks like seconds; ts is in milliseconds)" if 0 < ts < MIN_TS // 100 else ""
        return Malformed(
            "ts_out_of_range", f"ts {doc['ts']!r} is outside 2000-01-01 .. the allowed future{hint}"
        )
    properties = doc.get("properties", {})
    if not isinstance(properties, dict):
        return Malformed("wrong_type", f"properties must be an object, not {type(properties).__name__}")
    too_big = properties_problem(properties, limits)
    if too_big is not None:
        return too_big
    if key is not None and key != contact_id.encode():
        return Malformed(
            "key_mismatch", "the Kafka key must be the contact_id, so a contact stays on one partition"
        )
    if key is None:
        return Malformed("key_mismatch", "the record has no Kafka key; it must be the contact_id")
    return {"event_id": event_id, "contact_id": contact_id, "type": etype, "ts": ts, "properties": properties}


def properties_problem(properties: dict[str, Any], limits: Limits) -> Malformed | None:
    """Why `properties` breaks the size limits (depth, keys, string length, tags), or None."""
    if len(properties) > limits.max_properties:
        return Malformed(
            "too_many_properties", f"{len(properties)} properties (at most {limits.max_properties})"
        )
    tags = sum(len(v) for k in TAG_KEYS if isinstance(v := properties.get(k), list))
    if tags > limits.max_tags:
        return Malformed("too_many_tags", f"{tags} tags in add_tags/remove_tags (at most {limits.max_tags})")
    max_string, max_depth = limits.max_string, limits.max_depth
    # Iterative (a deep document must not exhaust Python's recursion limit either) and on exact types:
    # orjson only makes dict, list, str, int, float, bool and None. This runs for every event.
    stack: list[tuple[Any, int]] = [(properties, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > max_depth:
            return Malformed("too_deep", f"properties are nested deeper than {max_depth} levels")
        items = value.values() if type(value) is dict else value
        if type(value) is dict:
            for key in value:
                if len(key) > max_string:
                    return _too_long(len(key), max_string)
        for item in items:
            kind = type(item)
            if kind is str:
                if len(item) > max_string:
                    return _too_long(len(item), max_string)
            elif kind is dict or kind is list:
                stack.append((item, depth + 1))
    return None


def _too_long(length: int, limit: int) -> Malformed:
    return Malformed("string_too_long", f"a string of {length} characters (at most {limit})")


def parse_ts(value: Any) -> int | Malformed:
    """Epoch milliseconds from an integer, or from an RFC 3339 string with a timezone."""
    if isinstance(value, bool):
        return Malformed("wrong_type", "ts must be epoch milliseconds or an RFC 3339 string, not a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return Malformed("bad_ts", f"ts {value[:40]!r} is not an RFC 3339 time")
        if parsed.tzinfo is None:
            return Malformed("bad_ts", f"ts {value[:40]!r} has no timezone (add Z or +00:00)")
        return int(parsed.timestamp() * 1000)
    return Malformed(
        "wrong_type", f"ts must be epoch milliseconds or an RFC 3339 string, not {type(value).__name__}"
    )


def _id_problem(value: str) -> str | None:
    if not value.strip():
        return "is empty"
    if len(value) > MAX_ID_LENGTH:
        return f"is {len(value)} characters long (at most {MAX_ID_LENGTH})"
    if _CONTROL.search(value):
        return "contains control characters"
    return None


def encode_event(event: Event) -> bytes:
    return orjson.dumps(event)
