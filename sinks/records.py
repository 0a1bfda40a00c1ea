"""The records a sink reads and writes: actions in, outcome events and dead letters out.

An outcome event follows the event contract. Its id is ``<action_id>:<type>``, so an outcome emitted
again after a crash is the same event, and its ``ts`` is the wall-clock time the outcome happened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from sinks.exceptions import MalformedAction

REQUIRED_FIELDS = ("action_id", "channel", "type", "contact_id")
MAX_ACTION_DEPTH = 64  # an action nests its params under the record; the engine bounds event data at 32
META_FIELDS = ("workflow_id", "version", "run_id", "node_id")
# Of a record we could not read, its dead letter keeps this many characters: escaped as JSON (up to six
# bytes a character) that stays well below the 1 MB Kafka takes in one record.
MAX_RAW_CHARS = 64 * 1024


@dataclass(frozen=True)
class Action:
    """One action record from ``actions.<channel>`` (see the engine's action node)."""

    action_id: str
    channel: str
    type: str
    contact_id: str
    params: dict[str, Any]
    raw: dict[str, Any]  # the whole record as it came, for the dead-letter queue

    @property
    def workflow_id(self) -> str | None:
        value = self.raw.get("workflow_id")
        return value if isinstance(value, str) else None

    @property
    def ts(self) -> int | None:
        value = self.raw.get("ts")
        return value if isinstance(value, int) else None

    @property
    def profile(self) -> dict[str, Any] | None:
        """The contact as of the step that emitted the action (engine.templates.profile_snapshot)."""
        value = self.raw.get("profile")
        return value if isinstance(value, dict) else None

    def meta(self) -> dict[str, Any]:
        """The links back to the run every outcome carries."""
        return {"action_id": self.action_id, **{key: self.raw.get(key) for key in META_FIELDS}}


def parse_action(value: bytes | None) -> Action:
    if not value:
        raise MalformedAction("empty action record")
    try:
        record = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise MalformedAction(f"action record is not JSON: {exc}") from None
    if not isinstance(record, dict):
        raise MalformedAction("action record is not a JSON object")
    if nesting_depth(record, MAX_ACTION_DEPTH) > MAX_ACTION_DEPTH:
        raise MalformedAction(
            f"action record is nested deeper than {MAX_ACTION_DEPTH} levels", details={"reason": "too_deep"}
        )
    for name in REQUIRED_FIELDS:
        if not isinstance(record.get(name), str) or not record[name]:
            raise MalformedAction(f"action record has no {name!r}")
    params = record.get("params", {})
    if not isinstance(params, dict):
        raise MalformedAction("action params are not an object")
    return Action(
        record["action_id"], record["channel"], record["type"], record["contact_id"], params, record
    )


@dataclass(frozen=True)
class OutcomeEvent:
    """An outcome a handler reports. ``with_meta`` False keeps the properties exactly as given
    (``crm.updated`` carries only the changed fields, because its properties become profile attributes)."""

    type: str
    properties: dict[str, Any] = field(default_factory=dict)
    with_meta: bool = True


@dataclass(frozen=True)
class OutRecord:
    """One record to produce: topic name without prefix, key and JSON value."""

    topic: str
    key: str
    value: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"topic": self.topic, "key": self.key, "value": self.value}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OutRecord:
        return cls(data["topic"], data["key"], data["value"])


@dataclass(frozen=True)
class Delivery:
    """What a successful attempt produced: outcome events, and other records (a task row)."""

    events: list[OutcomeEvent]
    records: list[OutRecord] = field(default_factory=list)


def outcome_event(action: Action, outcome: OutcomeEvent, ts_ms: int, attempts: int) -> dict[str, Any]:
    properties = dict(outcome.properties)
    if outcome.with_meta:
        properties = {**action.meta(), "attempts": attempts, **properties}
    return {
        "event_id": f"{action.action_id}:{outcome.type}",
        "contact_id": action.contact_id,
        "type": outcome.type,
        "ts": ts_ms,
        "properties": properties,
    }


def nesting_depth(value: Any, stop_past: int) -> int:
    """How deep lists and objects nest in ``value`` (a scalar is 0), counted no further than one past
    ``stop_past``; iterative, so a deep record cannot exhaust the recursion limit."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        if depth > stop_past:
            return depth
        stack.extend((child, depth + 1) for child in children)
    return deepest


def raw_text(value: bytes | None) -> dict[str, Any]:
    """A record we could not read, as text for its dead letter: all of it, or its first MAX_RAW_CHARS
    characters and its size in bytes (the record itself stays on its topic, at the offset named)."""
    data = value or b""
    text = data.decode("utf-8", "replace")
    if len(text) <= MAX_RAW_CHARS:
        return {"raw": text}
    return {"raw": text[:MAX_RAW_CHARS], "raw_truncated": True, "raw_bytes": len(data)}


def dead_letter(
    action_record: dict[str, Any], attempts: int, error: str, ts_ms: int, reason: str = "failed"
) -> dict[str, Any]:
    """A record for ``actions.dlq``; ``reason`` is a stable code: failed (after its attempts),
    malformed_action, too_deep, sink_error (the sink could not handle the record)."""
    return {
        "action": action_record,
        "attempts": attempts,
        "error": error,
        "failed_at": ts_ms,
        "reason": reason,
    }
