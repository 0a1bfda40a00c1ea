"""A contact's timezone attribute may hold anything: it falls back to UTC instead of raising (it raised
for a list, which the zone cache could not hash, and stalled every wait in the contact's time)."""

from __future__ import annotations

from datetime import UTC

import pytest

from engine.step import step
from engine.timecalc import contact_zone, zone
from engine.validation import load_workflow
from engine.workflows import WorkflowSet
from tests.engine.fixtures import T0, make_event, workflow_text


@pytest.mark.parametrize("value", [["Europe/Paris"], {"zone": "UTC"}, 5, None, "", "Not/AZone"])
def test_anything_that_is_not_a_known_zone_is_utc(value: object) -> None:
    assert zone(value) is UTC and contact_zone({"timezone": value}) is UTC
    assert str(zone("Europe/Paris")) == "Europe/Paris"


def test_a_schedule_in_the_contacts_zone_steps_with_a_list_for_a_timezone() -> None:
    text = workflow_text("  a: {type: exit}\n", trigger='{schedule: "0 9 * * *", timezone: contact}')
    workflows = WorkflowSet([load_workflow(text)])
    event = make_event("contact.added", T0, timezone=["Europe/Paris"])
    assert step(None, event, workflows, T0).state is not None
