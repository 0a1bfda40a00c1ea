"""The offline simulator (engine.simulate) plays the timer service as the runtime does: a run restarted
after its first run's wake-ups fired is woken again, not left at its first wait."""

from __future__ import annotations

import yaml

from engine.simulate import simulate_contacts
from engine.workflows import WorkflowSet
from tests.engine.fixtures import T0, make_event

HOUR = 3_600_000

RESTARTING = """id: remind
version: 1
status: published
trigger: {event: cart.created}
settings: {reentry: always}
start: wait
nodes:
  wait: {type: wait, duration: 1h, next: mail}
  mail: {type: action, action: send_email, params: {template: reminder}}
"""


def test_a_run_restarted_after_its_wake_up_fired_is_woken_again() -> None:
    workflows = WorkflowSet.from_definitions([yaml.safe_load(RESTARTING)])
    # A producer re-sending the same event id later is a new event (the dedupe key includes ts), and
    # the restarted run has the same id, hence the same wake-up token as the first one.
    events = [
        make_event("cart.created", T0, event_id="cart-1"),
        make_event("cart.created", T0 + 3 * HOUR, event_id="cart-1"),
    ]
    (run,) = simulate_contacts(events, workflows, until=T0 + 10 * HOUR)
    assert run.timers_fired == 2
    assert [action["type"] for action in run.actions] == ["send_email", "send_email"]
    assert not run.state or not (run.state.get("runs") or {})
