"""The models in the worker: every event is scored in the same pass, ml state and label wake-ups are kept
with the contact, and the models are checkpointed on shutdown and restored on start."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from agents.changelog import read_contacts
from agents.settings import Settings
from tests.agents.fixtures import (
    WorkerFactory,
    event,
    produce_events,
    publish,
    read_actions,
    read_step_records,
    wait_processed,
)

pytestmark = pytest.mark.kafka
DAY = 86_400_000
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "workflows"


def test_events_are_scored_and_models_survive_a_restart(
    test_settings: Settings, worker_factory: WorkerFactory
) -> None:
    first = worker_factory.start(test_settings, "first")
    t0 = int(time.time() * 1000) - 3 * DAY
    produce_events(
        test_settings,
        [
            event(f"s{i}", "contact.added", t0, email=f"s{i}@example.com", timezone="Europe/Paris")
            for i in range(20)
        ]
        + [event(f"s{i}", "page.viewed", t0 + DAY, page="pricing") for i in range(20)],
    )
    wait_processed(test_settings)
    first.stop()
    states = read_contacts(test_settings.bootstrap, test_settings.app_id)
    ml = states["s3"]["ml"]
    assert set(ml["sc"]) == {"churn_risk", "likely_to_convert"}  # scored after each event
    assert 0.0 <= ml["sc"]["churn_risk"] <= 1.0 and ml["n_pricing"] == 1
    assert ml["tm"]["due"] > t0  # the next label window's wake-up, kept with the contact
    checkpoint = test_settings.state_dir / test_settings.app_id / "ml"
    assert any(checkpoint.iterdir()), "no model checkpoint written on shutdown"

    second = worker_factory.start(test_settings, "second")
    deadline = time.monotonic() + 15  # the start-up task that says so may log just after "Ready"
    while "predictive scoring on" not in second.log_path.read_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "predictive scoring on: models restored" in second.log_path.read_text()


def test_scoring_can_be_switched_off(test_settings: Settings, worker_factory: WorkerFactory) -> None:
    settings = test_settings.with_(ml=False)
    worker_factory.start(settings)
    produce_events(settings, [event("q", "contact.added", int(time.time() * 1000), email="q@example.com")])
    wait_processed(settings)
    assert "ml" not in read_contacts(settings.bootstrap, settings.app_id)["q"]


def test_hints_drive_best_time_and_channel_and_sends_open_bandit_trials(
    test_settings: Settings, worker_factory: WorkerFactory
) -> None:
    """The ML-assisted example end to end: the worker keeps each contact's hints, the engine's
    `until: best_send_time` wait and `send_best` read them, and the send opens a bandit trial."""
    publish(test_settings, EXAMPLES / "best_time_nudge.yaml")
    worker_factory.start(test_settings)
    t0 = int(time.time() * 1000) - 3 * DAY  # the best hour within a day of the trial is long past
    contacts = [f"b{i}" for i in range(5)]
    produce_events(
        test_settings,
        [event(c, "contact.added", t0, email=f"{c}@example.com", timezone="Europe/Paris") for c in contacts]
        + [event(c, "email.opened", t0 + 1000) for c in contacts]
        + [event(c, "trial.started", t0 + 2000) for c in contacts],
    )
    nudges = [a for a in read_actions(test_settings, expect=len(contacts)) if a["node_id"] == "nudge"]
    assert {a["contact_id"] for a in nudges} == set(contacts)
    assert {a["channel"] for a in nudges} == {"email"}  # the only channel these contacts can be reached on
    assert {a["params"]["chosen_by"] for a in nudges} == {"bandit"}
    wait_processed(test_settings)
    state = read_contacts(test_settings.bootstrap, test_settings.app_id)["b0"]
    hours = state["hints"]["send_hours"]
    assert 0 < len(hours) <= 24 and all(0 <= h < 168 for h in hours)
    assert state["hints"]["channel"] == "email"
    assert [trial for trial in state["ml"]["tr"] if trial["c"] == "email"], state["ml"]["tr"]


def _first_wait_reason(settings: Settings, contact: str) -> str:
    """Why the best_time_nudge wait of ``contact`` ends when it does (its step record)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for record in read_step_records(settings, expect=2, timeout=5):
            if record["contact_id"] == contact and record["node_id"] == "best_time":
                return str(record["reason"])
    raise AssertionError(f"no step record of {contact}'s best_time wait")


@pytest.mark.parametrize("ml", [True, False])
def test_a_first_event_wait_reads_the_hints_the_models_give_before_its_step(
    test_settings: Settings, worker_factory: WorkerFactory, ml: bool
) -> None:
    """A contact whose first event starts the ML-assisted example: the models' hints for its profile are
    there before its step (the wait reads them); with scoring off there are none."""
    settings = test_settings.with_(ml=ml)
    publish(settings, EXAMPLES / "best_time_nudge.yaml")
    worker_factory.start(settings)
    produce_events(settings, [event("fresh", "trial.started", int(time.time() * 1000))])
    wait_processed(settings)
    reason = _first_wait_reason(settings, "fresh")
    # with hints the wait ends at a hinted hour, or at the fallback when none is within 24 h (a young
    # worker's prior ranks arbitrary hours); without them the step says it had none
    assert ("no send-time hints" not in reason) == ml, reason
