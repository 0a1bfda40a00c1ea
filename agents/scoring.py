"""Predictive scoring in the worker: the River models of ml/ score every event in the same pass as the
engine, and a score crossing its threshold becomes a `predicted.<name>` event on `events`.

One model set per worker, learning from the labels of its own partitions; checkpointed under
`<data dir>/state/<app id>/ml/` every minute and on shutdown, restored on start (docs/ml.md has the
trade-off). Predicted events go through Kafka rather than straight into the engine, so they are facts
in the contact's event history like any other; their ids are derived from the event that caused them,
and the engine's score trigger fires only on an upward crossing, so a prediction repeated after a crash
starts nothing twice.

Each contact's state also carries ``hints`` (ml.hints): its best local send hours and the bandit's
channel pick, which the engine reads for ``wait until: best_send_time`` and ``action: send_best``; a
contact's first step gets the hints the models give its profile (``first_hints``), later steps those kept
after the previous one; with scoring off there are none and the engine falls back. Sends among the step's
actions open bandit trials that the contact's outcome events reward (ml.trials).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.types import ContactState, Event
from ml.hints import Hints
from ml.labels import ML_TIMER_KIND, pending_ml_timers, same_ml_timer

if TYPE_CHECKING:
    from ml.checkpoint import ModelCheckpoint
    from ml.scoring import Scorer

log = logging.getLogger("switchyard.scoring")
__all__ = ["ML_TIMER_KIND", "Predictions", "is_ml_wakeup", "pending_ml_timers", "same_ml_timer"]


def is_ml_wakeup(event: Event) -> bool:
    return event["type"] == "timer.fired" and event["properties"].get("kind") == ML_TIMER_KIND


class Predictions:
    def __init__(self, data_dir: Path) -> None:
        # River is imported here, not with this module: it is about two thirds of a worker's import time
        # (python -m loadtest.startup_bench), and a worker with scoring off never needs it.
        from ml.checkpoint import ModelCheckpoint
        from ml.models import ModelSet
        from ml.scoring import Scorer

        self.checkpoint_file: ModelCheckpoint = ModelCheckpoint(data_dir)
        restored = self.checkpoint_file.load()
        self.checkpoint_file.remove_leftovers()
        self.failed_checkpoints = 0
        self.origin = f"models restored from {data_dir}" if restored is not None else "new models"
        self.scorer: Scorer = Scorer(restored or ModelSet())

    def observe(
        self, state: ContactState, event: Event, actions: Sequence[dict[str, Any]] = ()
    ) -> tuple[ContactState, list[Event]]:
        """The state with its ml part and its ``hints`` updated, and the predicted events this event
        caused; ``actions`` are what the engine's step emitted for the event (sends open bandit trials)."""
        result = self.scorer.observe_with_hints(
            state.get("ml"), state["profile"], event, event["ts"], actions, state.get("hints")
        )
        out = {**state, "ml": result.ml_state}
        if result.hints is not None:
            out["hints"] = result.hints
        return out, result.predicted

    def first_hints(self, state: ContactState | None, event: Event) -> Hints | None:
        """The hints the engine's step of ``event`` reads when the contact has none yet (Scorer.first_hints),
        else None."""
        if state is None:
            return self.scorer.first_hints(None, None, None, event)
        return self.scorer.first_hints(state.get("ml"), state["profile"], state.get("hints"), event)

    async def checkpoint(self) -> None:
        """The periodic save, without stalling the worker: the snapshot is taken on the event loop (the
        models only change there), the file is written and fsynced in a thread."""
        now = time.time()
        if not self.checkpoint_file.due(now):
            return
        data = self.checkpoint_file.serialize(self.scorer.models, now)
        try:
            await asyncio.to_thread(self.checkpoint_file.write, data, now)
        except OSError as exc:  # a full or failing disk: the worker goes on, and tries again next period
            self.failed_checkpoints += 1
            log.warning("saving the models to %s failed (%d so far): %s", self.checkpoint_file.path,
                        self.failed_checkpoints, exc)  # fmt: skip

    def save(self, final: bool = False) -> None:
        now = time.time()
        if final:
            self.checkpoint_file.save(self.scorer.models, now)
        else:
            self.checkpoint_file.maybe_save(self.scorer.models, now)
