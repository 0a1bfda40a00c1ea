"""Kafka records to table rows: one pure function per topic kind.

`events` records follow the event contract (engine.events decodes them exactly as the worker does; what
the worker dead-letters is refused here too). A record that cannot become rows raises UnusableRecord with a
stable reason; the writer dead-letters it and goes on.

An event whose properties carry an `action_id` is also an action outcome; a `predicted.<model>` event with
a numeric score also a prediction; a `task.*` event with a `task_id` also a task row. `analytics` records
are the worker's step records, packed (engine/packing.py); `actions.<channel>` its action records; `tasks`
the task sink's rows.
"""

from __future__ import annotations

import hashlib
from typing import Any, Final, NamedTuple

import orjson

from engine.events import Limits, Malformed, decode_event
from engine.packing import position
from sinks.analytics.exceptions import UnusableRecord

Row = tuple[Any, ...]
UINT32_MAX = 2**32 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# What a DateTime64(3) column holds: 1900-01-01 to 2299-12-31, in epoch milliseconds
TIME_MIN_MS, TIME_MAX_MS = -2_208_988_800_000, 10_413_791_999_999
MAX_RECORD_DEPTH = 64  # step, action and task records: far below orjson's 255, far above what we write
TableRows = list[tuple[str, Row]]


class Rejected(NamedTuple):
    """A value of a packed record that cannot become rows: dead-lettered alone, the pack's others kept."""

    slot: int  # its index in the pack
    value: bytes
    problem: UnusableRecord


STEP_KEYS: Final = frozenset(
    {"ts", "contact_id", "workflow_id", "version", "run_id", "node_id", "transition", "reason", "arm",
     "goal", "event_id", "event_type", "source", "seq", "late_ms"}
)  # fmt: skip
ACTION_KEYS: Final = frozenset(
    {"action_id", "channel", "type", "contact_id", "workflow_id", "version", "run_id", "node_id", "ts"}
)
DELIVERED_SUFFIXES: Final = frozenset({"delivered"})
FAILED_SUFFIXES: Final = frozenset({"failed", "bounced", "rejected", "dead_lettered"})


def outcome_status(event_type: str) -> str:
    """delivered | failed | suppressed | sent, from the outcome event's type (`email.bounced` ...)."""
    suffix = event_type.rpartition(".")[2]
    if suffix in DELIVERED_SUFFIXES:
        return "delivered"
    if suffix in FAILED_SUFFIXES:
        return "failed"
    if suffix == "suppressed":  # consent withdrawn before delivery (sinks/consent_view.py)
        return "suppressed"
    return "sent"


def event_rows(
    value: bytes | None, key: bytes | None, partition: int, offset: int, limits: Limits
) -> TableRows:
    event = decode_event(value, key, limits)
    if isinstance(event, Malformed):
        raise UnusableRecord(f"event: {event.reason} ({event.detail})", event.reason)
    props = event["properties"]
    props_json = orjson.dumps(props).decode()
    ts = event["ts"]
    rows: TableRows = [
        ("events", (event["event_id"], event["contact_id"], event["type"], ts, props_json, partition, offset))
    ]
    etype = event["type"]
    action_id = props.get("action_id")
    if isinstance(action_id, str) and action_id:
        channel = _text(props.get("channel")) or etype.partition(".")[0]
        rows.append(
            ("action_results",
             (action_id, etype, outcome_status(etype), channel, event["contact_id"], event["event_id"], ts,
              props_json))
        )  # fmt: skip
    score = props.get("score")
    if etype.startswith("predicted.") and isinstance(score, (int, float)) and not isinstance(score, bool):
        model = etype[len("predicted.") :]
        rows.append(
            ("predictions", (event["event_id"], event["contact_id"], model, float(score), ts, props_json))
        )
    if etype.startswith("task.") and isinstance(props.get("task_id"), str):
        status = etype.partition(".")[2]
        rows.append(("tasks", _task_row({**props, "status": status, "contact_id": event["contact_id"]}, ts)))
    return rows


def step_rows(value: bytes | None, partition: int, offset: int) -> tuple[TableRows, list[Rejected]]:
    """The rows of an `analytics` record: a pack of step records (engine/packing.py), each row at its
    position in the log, or a single step record at its offset. A pack's step records that cannot become
    rows come back as rejected, each on its own; a record that is not JSON raises UnusableRecord."""
    decoded = _json(value, "step record")
    if not isinstance(decoded, list):
        return [_step_row(_checked(decoded, "step record"), partition, offset)], []
    rows: TableRows = []
    rejected: list[Rejected] = []
    for index, item in enumerate(decoded):
        try:
            rows.append(_step_row(_checked(item, "packed step record"), partition, position(offset, index)))
        except UnusableRecord as exc:
            rejected.append(Rejected(index, _reencoded(item, value or b""), exc))
    return rows, rejected


def _reencoded(item: Any, whole: bytes) -> bytes:
    try:
        return orjson.dumps(item)
    except orjson.JSONEncodeError:  # nested past what orjson writes: the whole pack is kept instead
        return whole


def _step_row(record: dict[str, Any], partition: int, log_offset: int) -> tuple[str, Row]:
    transition = record.get("transition")
    if not isinstance(transition, str):
        raise UnusableRecord("step record without a transition")
    ts = _time(record.get("ts"), "step record's ts")
    source = _text(record.get("source"))
    seq = _uint(record.get("seq"), "step record's seq")
    if source:
        record_id = f"{source}/{seq}"
    else:  # run migrations carry no source: their content names them
        record_id = (
            "h:"
            + hashlib.blake2b(orjson.dumps(record, option=orjson.OPT_SORT_KEYS), digest_size=16).hexdigest()
        )
    late = record.get("late_ms")
    version = _uint(record.get("version"), "version")
    details = {k: v for k, v in record.items() if k not in STEP_KEYS}
    row = (
        ts, _text(record.get("contact_id")), _text(record.get("workflow_id")), version,
        _text(record.get("run_id")), _text(record.get("node_id")), transition, _text(record.get("reason")),
        _text(record.get("arm")), _text(record.get("goal")), _text(record.get("event_id")),
        _text(record.get("event_type")), source, seq, record_id, _int64(late, "step record's late_ms"),
        orjson.dumps(details).decode() if details else "", partition, log_offset,
    )  # fmt: skip
    return ("step_log", row)


def action_rows(value: bytes | None, partition: int, offset: int) -> TableRows:
    record = _object(value, "action record")
    action_id = record.get("action_id")
    if not isinstance(action_id, str) or not action_id:
        raise UnusableRecord("action record without an action_id")
    ts = record.get("ts")
    version = _uint(record.get("version"), "version")
    row = (
        action_id, _text(record.get("channel")), _text(record.get("type")), _text(record.get("contact_id")),
        _text(record.get("workflow_id")), version, _text(record.get("run_id")),
        _text(record.get("node_id")), _time(ts, "action record's ts") if isinstance(ts, int) else 0,
        orjson.dumps(record.get("params") or {}).decode(), partition, offset,
    )  # fmt: skip
    return [("actions", row)]


def task_rows(value: bytes | None, timestamp_ms: int) -> TableRows:
    record = _object(value, "task record")
    if not isinstance(record.get("task_id"), str):
        raise UnusableRecord("task record without a task_id")
    updated = record.get("updated_at", record.get("ts"))
    updated_at = _time(updated, "task record's updated_at") if isinstance(updated, int) else timestamp_ms
    return [("tasks", _task_row(record, updated_at))]


RECOMMENDATION_WHATS: Final = frozenset({"shown", "applied", "dismissed"})


def recommendation_rows(value: bytes | None) -> TableRows:
    """A `recommendations` record (agents/api/recommendations_view.py) as a recommendation_log row."""
    record = _object(value, "recommendation record")
    rid, what, ts = record.get("recommendation_id"), record.get("what"), record.get("ts")
    if not isinstance(rid, str) or not rid or what not in RECOMMENDATION_WHATS or not isinstance(ts, int):
        raise UnusableRecord("recommendation record without an id, a known `what` or an integer ts")
    record_id = (
        _text(record.get("record_id"))
        or hashlib.blake2b(f"{rid}|{what}|{ts}".encode(), digest_size=16).hexdigest()
    )
    known = {"record_id", "recommendation_id", "what", "workflow_id", "version", "kind", "node", "reason",
             "draft_version", "ts"}  # fmt: skip
    details = {k: v for k, v in record.items() if k not in known}
    row = (
        record_id, rid, what, _text(record.get("workflow_id")), _uint(record.get("version"), "version"),
        _text(record.get("kind")), _text(record.get("node")), _text(record.get("reason")),
        _uint(record.get("draft_version"), "draft_version"), _time(ts, "recommendation record's ts"),
        orjson.dumps(details).decode() if details else "",
    )  # fmt: skip
    return [("recommendation_log", row)]


def _task_row(record: dict[str, Any], updated_at: int) -> Row:
    due = record.get("due_at")
    due_at = due if type(due) is int and TIME_MIN_MS <= due <= TIME_MAX_MS else None
    known = {"task_id", "contact_id", "workflow_id", "action_id", "title", "assignee", "team", "status",
             "updated_at", "ts"}  # fmt: skip
    if due_at is not None or due is None:
        known.add("due_at")  # in its column; a due_at that is no time stays in the details as it came
    details = {k: v for k, v in record.items() if k not in known}
    return (
        record["task_id"], _text(record.get("contact_id")), _text(record.get("workflow_id")),
        _text(record.get("action_id")), _text(record.get("title")), _text(record.get("assignee")),
        _text(record.get("team")), _text(record.get("status")) or "open",
        due_at,
        updated_at, orjson.dumps(details).decode() if details else "",
    )  # fmt: skip


def _object(value: bytes | None, what: str) -> dict[str, Any]:
    return _checked(_json(value, what), what)


def _json(value: bytes | None, what: str) -> Any:
    try:
        return orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        raise UnusableRecord(f"{what} is not JSON", "not_json") from None


def _checked(record: Any, what: str) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise UnusableRecord(f"{what} is not a JSON object", "not_object")
    if _depth(record) > MAX_RECORD_DEPTH:  # orjson writes at most 255 levels: the row could not be built
        raise UnusableRecord(f"{what} is nested deeper than {MAX_RECORD_DEPTH} levels", "too_deep")
    return record


def _depth(value: Any) -> int:
    """How deep objects and lists nest (iterative: a deep record must not exhaust the recursion limit)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if depth <= MAX_RECORD_DEPTH:
                stack.extend(
                    (child, depth + 1) for child in (item.values() if isinstance(item, dict) else item)
                )
    return deepest


def _text(value: object) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _uint(value: object, what: str) -> int:
    """A UInt32 column's value: 0 for a missing or non-numeric one; a number it cannot hold is refused."""
    if type(value) is not int or value < 0:
        return 0
    return _within(value, 0, UINT32_MAX, what)


def _int64(value: object, what: str) -> int | None:
    return _within(value, INT64_MIN, INT64_MAX, what) if type(value) is int else None


def _time(value: object, what: str) -> int:
    """Epoch milliseconds a DateTime64(3) column holds."""
    if type(value) is not int:
        raise UnusableRecord(f"{what} is not an integer time")
    return _within(value, TIME_MIN_MS, TIME_MAX_MS, what)


def _within(value: int, low: int, high: int, what: str) -> int:
    """``value``, or UnusableRecord `out_of_range` when its column cannot hold it."""
    if not low <= value <= high:
        raise UnusableRecord(f"{what} {value} is out of range", "out_of_range")
    return value
