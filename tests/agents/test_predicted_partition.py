"""A predicted event goes to the partition the contact's state is in, not where our partitioner would put
its key: the contact's events may come from a producer that partitions otherwise (librdkafka's default
hashes with CRC32), and a prediction elsewhere would start runs in a second state of the same contact."""

from __future__ import annotations

import functools
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from agents.processor import EventProcessor
from agents.scoring import Predictions
from engine.profile import apply_event
from ml.scoring import Scorer
from tests.ml.fixtures import HOUR, T0, ScriptedModels, make_event


def test_a_prediction_goes_to_the_partition_of_its_cause(tmp_path: Path) -> None:
    predictions = Predictions(tmp_path)
    predictions.scorer = Scorer(ScriptedModels([(0.1, 0.1), (0.99, 0.1)]))
    processor = SimpleNamespace(
        predictions=predictions, outputs=SimpleNamespace(events="events"), _records=[],
        metrics=SimpleNamespace(predictions_total=0),
    )  # fmt: skip
    processor.send = functools.partial(EventProcessor.send, cast(Any, processor))
    state: dict[str, Any] = {"profile": None}
    for n in range(2):
        event = make_event("email.opened", T0 + n * HOUR)
        state["profile"] = apply_event(state["profile"], event)
        message = SimpleNamespace(key=b"c1", partition=5, offset=n)
        state = EventProcessor._score(cast(Any, processor), cast(Any, state), event, message)
    assert processor.metrics.predictions_total == 1
    [(topic, key, _, _, partition)] = processor._records
    assert (topic, key, partition) == ("events", b"c1", 5)
