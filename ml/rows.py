"""Scores and predictions as rows for the analytics ``predictions`` table (plain dicts).

Columns: ts (ms), contact_id, model (the predicted name), score, label (None until known), kind
("crossing" for a predicted event, "label" for a resolved snapshot), and details: threshold and
direction for crossings, snapshot_ts and resolved_ts for labels, event_id when there is one.
"""

from __future__ import annotations

from typing import Any

from engine.types import Event
from ml.activity import PREDICTED_PREFIX
from ml.exceptions import MLError
from ml.labels import Resolved


def prediction_row(
    ts: int,
    contact_id: str,
    model: str,
    score: float,
    *,
    label: int | None = None,
    kind: str = "score",
    threshold: float | None = None,
    direction: str | None = None,
    snapshot_ts: int | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """One row of the predictions table."""
    return {
        "ts": ts,
        "contact_id": contact_id,
        "model": model,
        "score": float(score),
        "label": label,
        "kind": kind,
        "threshold": threshold,
        "direction": direction,
        "snapshot_ts": snapshot_ts,
        "event_id": event_id,
    }


def row_for_predicted(event: Event) -> dict[str, Any]:
    """The row of a ``predicted.<name>`` event returned by the scorer."""
    if not event["type"].startswith(PREDICTED_PREFIX):
        raise MLError(f"{event['type']} is not a predicted event")
    props = event["properties"]
    return prediction_row(
        event["ts"],
        event["contact_id"],
        event["type"][len(PREDICTED_PREFIX) :],
        float(props["score"]),
        kind="crossing",
        threshold=props.get("threshold"),
        direction=props.get("direction"),
        event_id=event["event_id"],
    )


def row_for_label(contact_id: str, resolved: Resolved) -> dict[str, Any]:
    """The row of a resolved label: the score given at snapshot time next to what really happened."""
    return prediction_row(
        resolved.resolved_ts,
        contact_id,
        resolved.model,
        resolved.score,
        label=resolved.label,
        kind="label",
        snapshot_ts=resolved.snapshot_ts,
    )
