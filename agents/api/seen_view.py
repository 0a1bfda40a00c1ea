"""GET /v1/events/seen: what the stream has carried, for the builder's pickers: each event type with its
count, last time and property keys, and the contact attribute keys (the property keys of the events that
set attributes, engine.profile's PROFILE_EVENT_TYPES)."""

from __future__ import annotations

from typing import Any

from engine.profile import PROFILE_EVENT_TYPES, TAG_KEYS


def events_seen(report: dict[str, Any]) -> dict[str, Any]:
    """The analytics `seen` report ({"columns", "rows"}) shaped for the builder."""
    columns = report["columns"]
    rows = [dict(zip(columns, row, strict=True)) for row in report["rows"]]
    types = [{"type": row["type"], "count": int(row["events"]), "last_ts": int(row["last_ts_ms"]),
              "properties": list(row["property_keys"])} for row in rows]  # fmt: skip
    attributes = {key for row in types if row["type"] in PROFILE_EVENT_TYPES for key in row["properties"]}
    return {"event_types": types, "contact_attributes": sorted(attributes - set(TAG_KEYS))}
