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
META_FIELDS = ("workflow_id", "version", "run_id", "node_id")


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


def dead_letter(action_record: dict[str, Any], attempts: int, error: str, ts_ms: int) -> dict[str, Any]:
    return {"action": action_record, "attempts": attempts, "error": error, "failed_at": ts_ms}
