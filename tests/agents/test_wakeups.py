"""agents.processor.same_wakeups, the shortcut that spares a contact's wake-up diff: whenever it says "same",
the wake-ups read off the states are equal; and `staged`, which keeps a contact's wake-ups for the flush in
place of its states. Checked on the runtime bench's traffic through the engine and the models, as the
worker applies them (no Kafka)."""

from __future__ import annotations

from pathlib import Path

import orjson

from agents.processor import all_pending, same_wakeups, staged
from agents.scoring import Predictions, is_ml_wakeup
from engine.step import step
from engine.types import ContactState
from engine.workflows import WorkflowSet
from loadtest.runtime_workload import generate_workload
from loadtest.step_bench import definitions

NOW = 1_795_449_787_876


def test_same_parts_mean_same_wakeups(tmp_path: Path) -> None:
    workload = generate_workload(8000, 1000, 100, now_ms=NOW, seed=11)
    workflows = WorkflowSet.from_definitions(definitions())
    predictions = Predictions(tmp_path)
    states: dict[str, ContactState] = {}
    spared = compared = 0
    for _, value in workload.first_sight + workload.mixed:
        event = orjson.loads(value)
        before = states.get(event["contact_id"])
        if before is not None and is_ml_wakeup(event):
            state, actions = before, []
        else:
            result = step(before, event, workflows, event["ts"], predictions.first_hints(before, event))
            state, actions = result.state, result.actions
        after, _ = predictions.observe(state, event, actions)
        states[event["contact_id"]] = after
        entry = staged(event["contact_id"], 0, b"", before, after, republish=False)
        if same_wakeups(before, after):
            spared += 1
            assert all_pending(after) == all_pending(before), event
            assert entry.wakeups is None
        else:
            compared += 1
            assert entry.wakeups == (all_pending(before), all_pending(after)), event
        # a republished state's wake-ups are always compared: its timers row is written again
        again = staged(event["contact_id"], 0, b"", before, after, republish=True)
        assert again.wakeups == (all_pending(before), all_pending(after)), event
    assert spared > 0 and compared > 0  # the shortcut is taken, and not for everything
    assert not same_wakeups(None, states[next(iter(states))])
