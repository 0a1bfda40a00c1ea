"""Rows for the analytics predictions table."""

from __future__ import annotations

import orjson
import pytest

from ml.exceptions import MLError
from ml.labels import CONVERT, Resolved
from ml.rows import prediction_row, row_for_label, row_for_predicted
from tests.ml.fixtures import T0, make_event

COLUMNS = [
    "ts",
    "contact_id",
    "model",
    "score",
    "label",
    "kind",
    "threshold",
    "direction",
    "snapshot_ts",
    "event_id",
]


def test_rows_for_crossings_and_labels() -> None:
    event = make_event(
        "predicted.churn_risk", T0, event_id="p1", score=0.81, threshold=0.7, direction="up", model="logreg"
    )
    row = row_for_predicted(event)
    assert list(row) == COLUMNS
    assert (row["model"], row["score"], row["kind"], row["direction"], row["event_id"]) == (
        "churn_risk",
        0.81,
        "crossing",
        "up",
        "p1",
    )
    label = row_for_label("c9", Resolved(CONVERT, T0, [0.0], 0.42, 1, T0 + 5))
    assert (label["ts"], label["contact_id"], label["model"], label["score"], label["label"]) == (
        T0 + 5,
        "c9",
        CONVERT,
        0.42,
        1,
    )
    assert label["snapshot_ts"] == T0 and label["kind"] == "label"
    assert orjson.loads(orjson.dumps([row, label])) == [row, label]
    assert prediction_row(T0, "c1", "churn_risk", 0.5)["label"] is None
    with pytest.raises(MLError):
        row_for_predicted(make_event("email.opened", T0))
