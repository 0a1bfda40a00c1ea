"""POST /v1/events: check a single event or a batch against the event contract, all or nothing.

Switchyard's own event types (wake-ups, predictions, sink outcomes) are refused here: only the worker and
the sinks may produce them, or any token holder could forge a wake-up or a prediction.
"""

from __future__ import annotations

from typing import Any

import orjson

from engine.events import Limits, Malformed, validate_event
from engine.profile import SYSTEM_EVENT_TYPES
from engine.types import Event

RESERVED_PREFIXES = ("timer.", "predicted.", "action.", "switchyard.")


def event_documents(body: Any) -> list[Any] | None:
    """The list of event documents in a body: one event object, a JSON array, or {"events": [...]}."""
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        if set(body) == {"events"}:
            events = body["events"]
            return events if isinstance(events, list) else None
        return [body]
    return None


def check_events(documents: list[Any], limits: Limits) -> tuple[list[Event], list[dict[str, Any]]]:
    """Every valid event, and one error per bad document ({index, reason, detail}); the caller sends
    nothing unless the error list is empty."""
    events: list[Event] = []
    errors: list[dict[str, Any]] = []
    for index, doc in enumerate(documents):
        problem = _check_one(doc, limits)
        if isinstance(problem, Malformed):
            errors.append({"index": index, "reason": problem.reason, "detail": problem.detail})
        else:
            events.append(problem)
    return events, errors


def encoded_size(doc: Any) -> int | Malformed:
    """Its size as JSON, or why it cannot be written back: a body may nest up to 1,024 levels (what orjson
    reads), a record at most 255 (what it writes)."""
    try:
        return len(orjson.dumps(doc))
    except orjson.JSONEncodeError:
        return Malformed("too_deep", "nested deeper than the 255 levels an event can be written with")


def _check_one(doc: Any, limits: Limits) -> Event | Malformed:
    if not isinstance(doc, dict):
        return Malformed("not_object", f"JSON {type(doc).__name__} where an event object was expected")
    size = encoded_size(doc)
    if isinstance(size, Malformed):
        return size
    if size > limits.max_bytes:
        return Malformed("oversized", f"{size} bytes is over the limit of {limits.max_bytes}")
    contact = doc.get("contact_id")
    event = validate_event(doc, contact.encode() if isinstance(contact, str) else b"", limits)
    if isinstance(event, Malformed):
        return event
    return reserved_problem(event["type"]) or event


def reserved_problem(etype: str) -> Malformed | None:
    """Why `etype` may not come from outside, or None."""
    prefix = next((p for p in RESERVED_PREFIXES if etype.startswith(p)), None)
    if prefix is not None:
        return Malformed("reserved_type", f"types starting with {prefix!r} are reserved for Switchyard")
    if etype in SYSTEM_EVENT_TYPES:
        return Malformed("reserved_type", f"{etype!r} is a sink outcome, reserved for Switchyard")
    return None
