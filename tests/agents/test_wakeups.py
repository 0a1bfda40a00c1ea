"""agents.processor.same_wakeups, the shortcut that spares a contact's wake-up diff: whenever it says "same",
the wake-ups read off the states are equal; and `staged`, which keeps a contact's wake-ups for the flush in
place of its states. Checked on the runtime bench's traffic through the engine and the models, as the
worker applies them (no Kafka)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import orjson

from agents.processor import EventProcessor, Staged, all_pending, same_wakeups, staged
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


class TimerLedger:
    """What `_save_timers` asks of the timers table and the timer service, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    def save(self, partition: int, contact_id: str, timers: object) -> None:
        self.calls.append(("save", contact_id))

    def add(self, contact_id: str, due: int, token: str, kind: str, partition: int) -> None:
        self.calls.append(("add", token))

    def cancel(self, due: int, token: str) -> None:
        self.calls.append(("cancel", token))


def test_a_republished_state_puts_all_its_timers_back_in_the_queue() -> None:
    """A crash can keep a contact's new state and lose its timers row (two files, two changelogs): the
    replay finds the state applied and republishes it, rewriting the row; its timers must be queued too,
    although they equal the stored state's."""
    ledger = TimerLedger()
    processor = SimpleNamespace(timer_store=ledger, timer_service=ledger)
    pending = [(NOW + 1000, "t1", "wait"), (NOW + 2000, "t2", "ml")]
    entry = Staged("c1", 0, b"", (pending, pending), republish=True)
    EventProcessor._save_timers(cast(Any, processor), entry, pending, pending)
    assert ledger.calls[0] == ("save", "c1") and sorted(ledger.calls[1:]) == [("add", "t1"), ("add", "t2")]
    ledger.calls.clear()
    moved = [(NOW + 1000, "t1", "wait"), (NOW + 3000, "t3", "ml")]
    EventProcessor._save_timers(cast(Any, processor), replace(entry, republish=False), pending, moved)
    assert ledger.calls == [("save", "c1"), ("cancel", "t2"), ("add", "t3")]  # only the difference


def test_a_republished_state_without_timers_writes_its_empty_row_again() -> None:
    """The delete of a timers row emptied by a wake-up can be lost while the state's record lands (two
    changelogs, acknowledged apart): the republish writes the empty row (a delete) again, or a restore
    brings the old row, and its stale wake-up, back after every rebuild."""
    ledger = TimerLedger()
    processor = SimpleNamespace(timer_store=ledger, timer_service=ledger)
    entry = Staged("c1", 0, b"", ([], []), republish=True)
    EventProcessor._save_timers(cast(Any, processor), entry, [], [])
    assert ledger.calls == [("save", "c1")]
    ledger.calls.clear()
    EventProcessor._save_timers(cast(Any, processor), replace(entry, republish=False), [], [])
    assert ledger.calls == []
