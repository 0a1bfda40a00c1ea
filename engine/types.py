"""Plain-data types shared by the engine and its adapters.

Everything here is a dict/list/str/int shape so it serialises with orjson unchanged.
Times are epoch milliseconds (int) everywhere inside the engine.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict


class Event(TypedDict):
    """A decoded, validated contact event (see schemas/event.schema.json)."""

    event_id: str
    contact_id: str
    type: str
    ts: int  # epoch milliseconds, event time
    properties: dict[str, Any]


class Profile(TypedDict):
    """What we know about a contact, built from every event it sent."""

    attrs: dict[str, Any]  # merged contact properties (name, email, plan, renewal_date ...)
    tags: list[str]  # sorted, unique
    counts: dict[str, int]  # events seen per event type
    last_by_type: dict[str, int]  # last event time per event type
    scores: dict[str, float]  # predictive scores (churn_risk, likely_to_convert ...)
    first_seen: int
    last_seen: int
    # per-topic content affinity, an engine.decay bag (engine/affinity.py); absent until the contact
    # engages with content that names a topic
    affinity: NotRequired[dict[str, Any]]


# The per-contact state is a plain dict with at least these keys:
#   "v": int            state layout version (STATE_VERSION), for migrations
#   "contact_id": str
#   "profile": Profile
#   "offset": int       last applied source offset (-1 = none); owned by the runtime
# The workflow step machine adds its own keys (runs, history, caps ...).
ContactState = dict[str, Any]

STATE_VERSION = 1
