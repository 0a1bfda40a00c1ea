"""Loop protection: a workflow triggered by the outcomes of its own actions (a crm_update whose
`crm.updated` starts it again) is stopped by the per-contact run limit instead of running forever."""

from __future__ import annotations

import pytest

from engine.exceptions import WorkflowInvalid
from engine.model import DEFAULT_MAX_RUNS
from engine.validation import load_workflow, validate_text
from engine.workflows import WorkflowSet
from tests.engine.fixtures import DAY, T0, Harness, workflow_text

BODY = "  a: {type: action, action: crm_update, params: {fields: {stage: touched}}}\n"


def loop(**settings: str) -> Harness:
    extra = ", ".join(f"{k}: {v}" for k, v in settings.items())
    text = workflow_text(
        BODY, trigger="{event: crm.updated}", settings=f"{{reentry: always{', ' + extra if extra else ''}}}"
    )
    return Harness(WorkflowSet([load_workflow(text)]))


def feed_own_outcomes(h: Harness, count: int, gap_ms: int) -> None:
    """Each action's outcome comes back as crm.updated, as the CRM sink reports it."""
    h.send("crm.updated", at=T0)
    for i in range(count):
        h.send("crm.updated", at=T0 + (i + 1) * gap_ms)


def test_a_self_triggering_workflow_stops_at_the_default_run_limit() -> None:
    h = loop()
    feed_own_outcomes(h, 300, 1_000)  # 301 outcomes in five minutes
    assert len(h.actions) == DEFAULT_MAX_RUNS
    skipped = [e["reason"] for e in h.trace if e["transition"] == "skipped"]
    assert len(skipped) == 301 - DEFAULT_MAX_RUNS
    assert all("run limit: 20 runs per 1d (loop protection)" in reason for reason in skipped)


def test_the_window_slides_and_the_limit_is_settable() -> None:
    h = loop(max_runs="{max: 3, per: 1h}")
    feed_own_outcomes(h, 9, 10 * 60_000)  # every 10 minutes for 90 minutes
    started = sorted({a["ts"] - T0 for a in h.actions})
    assert started == [0, 600_000, 1_200_000, 3_600_000, 4_200_000, 4_800_000]
    h.send("crm.updated", at=T0 + DAY)
    assert len(h.actions) == 7


def test_a_bad_run_limit_is_refused_with_its_path() -> None:
    with pytest.raises(WorkflowInvalid, match=r":6:\d+: 'max' must be at least 1"):
        load_workflow(workflow_text(BODY, settings="{max_runs: {max: 0, per: 1h}}"))


def test_the_validator_warns_when_a_trigger_matches_an_own_outcome() -> None:
    issues = validate_text(workflow_text(BODY, trigger="{event: crm.updated}"))
    warnings = [i for i in issues if i.severity == "warning"]
    assert len(warnings) == 1 and "crm.updated" in warnings[0].message and "crm_update" in warnings[0].message
    clean = validate_text(workflow_text(BODY, trigger="{event: deal.won}"))
    assert [i for i in clean if i.severity == "warning"] == []


def test_scheduled_runs_are_not_counted() -> None:
    text = workflow_text(BODY, trigger="{schedule: '*/10 * * * *'}", settings="{reentry: always}")
    h = Harness(WorkflowSet([load_workflow(text)]))
    h.send("contact.added")
    h.run_until(T0 + DAY)
    assert len(h.actions) >= 143  # every 10 minutes for a day, past the limit of 20 for events
