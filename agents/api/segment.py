"""Segment's tracking spec mapped to Switchyard's event contract (pure: no I/O).

The mapping, one Segment message to one event document (alias aside):
- ``messageId`` -> ``event_id`` (a hash of the message when it has none, so a retry keeps its id);
- ``userId``, else ``anonymousId`` -> ``contact_id``;
- ``timestamp``, else ``originalTimestamp``, else the time it was received -> ``ts``;
- track: ``event`` -> ``type``, lower-cased with every run of other characters than letters, digits and
  ``_ . : -`` turned into ``_`` ("Order Completed" -> ``order_completed``), ``properties`` -> ``properties``;
- identify: ``traits`` -> a ``contact.updated`` event, the traits its properties;
- page and screen: ``page.viewed`` / ``screen.viewed``, ``properties`` plus ``name`` and ``category``;
- group: ``group.joined`` with ``{"group_id", "traits"}``;
- alias: ``previousId`` (the anonymous id) is merged into ``userId``; how is the route's business
  (agents/api/routes/segment.py), since it needs the stored profiles.
``context`` and ``integrations`` are not carried over.

Limits are Segment's own: 32 KB per message, 500 KB per batch; a call over them is refused whole (400),
as Segment does, and so is a body that is not JSON.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from hashlib import blake2b
from typing import Any

import orjson

from agents.api.ingest import encoded_size
from engine.events import Malformed

MAX_MESSAGE_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024
MESSAGE_TYPES = ("track", "identify", "page", "screen", "group", "alias")
_NOT_IN_TYPE = re.compile(r"[^a-z0-9_.:\-]+")


@dataclass(frozen=True)
class Alias:
    """An alias call: merge ``previous_id`` into ``contact_id``."""

    event_id: str
    contact_id: str
    previous_id: str
    ts: int


def event_type_of(name: str) -> str:
    """A track call's event name as an event type: "Order Completed" -> "order_completed"."""
    return _NOT_IN_TYPE.sub("_", name.strip().lower()).strip("_.:-")


def message_id(message: dict[str, Any]) -> str:
    found = message.get("messageId")
    if isinstance(found, str | int) and str(found):
        return str(found)
    digest = blake2b(orjson.dumps(message, option=orjson.OPT_SORT_KEYS), digest_size=16).hexdigest()
    return f"segment-{digest}"


def _timestamp_ms(message: dict[str, Any], received_ms: int) -> int | Malformed:
    for field in ("timestamp", "originalTimestamp"):
        value = message.get(field)
        if value is None:
            continue
        if not isinstance(value, str):
            return Malformed("bad_timestamp", f"{field} must be an ISO 8601 string")
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return Malformed("bad_timestamp", f"{field} {value[:64]!r} is not an ISO 8601 time")
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return int(moment.timestamp() * 1000)
    return received_ms


def _identity(message: dict[str, Any]) -> str | Malformed:
    for field in ("userId", "anonymousId"):
        value = message.get(field)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            return str(value)
    return Malformed("missing_identity", "a message needs a userId or an anonymousId")


def _mapping(value: Any, field: str) -> dict[str, Any] | Malformed:
    if value is None:
        return {}
    if not isinstance(value, dict):
        return Malformed("bad_field", f"{field} must be an object")
    return value


def to_event(message: Any, kind: str | None, received_ms: int) -> dict[str, Any] | Alias | Malformed:
    """One Segment message as an event document (still to be checked against the event contract), an
    Alias, or why not. ``kind`` is the call's type when the path names it (``/v1/track``)."""
    if not isinstance(message, dict):
        return Malformed("not_object", "a message must be a JSON object")
    size = encoded_size(message)
    if isinstance(size, Malformed):
        return size
    if size > MAX_MESSAGE_BYTES:
        return Malformed("message_too_large", f"{size} bytes is over the {MAX_MESSAGE_BYTES} per message")
    kind = kind or message.get("type")
    if kind not in MESSAGE_TYPES:
        return Malformed("bad_type", f"type must be one of {', '.join(MESSAGE_TYPES)}")
    ts = _timestamp_ms(message, received_ms)
    if isinstance(ts, Malformed):
        return ts
    contact = _identity(message)
    if isinstance(contact, Malformed):
        return contact
    event_id = message_id(message)
    if kind == "alias":
        previous = message.get("previousId")
        if not isinstance(previous, str | int) or isinstance(previous, bool) or not str(previous):
            return Malformed("missing_previous_id", "an alias call needs previousId")
        return Alias(event_id, contact, str(previous), ts)
    typed = _typed(message, kind)
    if isinstance(typed, Malformed):
        return typed
    etype, properties = typed
    return {"event_id": event_id, "contact_id": contact, "type": etype, "ts": ts, "properties": properties}


def _typed(message: dict[str, Any], kind: str) -> tuple[str, dict[str, Any]] | Malformed:
    if kind == "track":
        name = message.get("event")
        if not isinstance(name, str) or not event_type_of(name):
            return Malformed("missing_event", "a track call needs an event name")
        properties = _mapping(message.get("properties"), "properties")
        return properties if isinstance(properties, Malformed) else (event_type_of(name), properties)
    if kind == "identify":
        traits = _mapping(message.get("traits"), "traits")
        return traits if isinstance(traits, Malformed) else ("contact.updated", traits)
    if kind in ("page", "screen"):
        properties = _mapping(message.get("properties"), "properties")
        if isinstance(properties, Malformed):
            return properties
        named = {key: message[key] for key in ("name", "category") if isinstance(message.get(key), str)}
        return f"{kind}.viewed", {**properties, **named}
    group = message.get("groupId")
    if not isinstance(group, str | int) or isinstance(group, bool) or not str(group):
        return Malformed("missing_group_id", "a group call needs groupId")
    traits = _mapping(message.get("traits"), "traits")
    if isinstance(traits, Malformed):
        return traits
    return "group.joined", {"group_id": str(group), "traits": traits}


def merged_attributes(anonymous: dict[str, Any], known: dict[str, Any]) -> dict[str, Any]:
    """What an alias adds to the known contact: the anonymous contact's attributes it does not have."""
    return {key: value for key, value in anonymous.items() if key not in known}
