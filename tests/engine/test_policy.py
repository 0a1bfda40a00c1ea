"""The workspace policy: caps and quiet hours across every workflow, which may only tighten them."""

from __future__ import annotations

import pytest

from engine.compile_policy import load_policy
from engine.exceptions import PolicyInvalid
from engine.model import NO_POLICY, Policy
from engine.validation import load_workflow
from engine.workflows import WorkflowSet
from tests.engine.fixtures import DAY, HOUR, T0, Harness, workflow_text

POLICY = """\
version: 3
note: one marketing email a week
frequency_caps: {email: {max: 1, per: 7d}}
send_rates: {email: {max: 50, per: 1s}}
"""


def newsletters(count: int, policy: Policy = NO_POLICY, settings: str = "{}", **params: str) -> WorkflowSet:
    """``count`` workflows, each sending one email on `go` (the global-cap scenario of the issue)."""
    extra = "".join(f", {key}: {value}" for key, value in params.items())
    body = f"  a: {{type: action, action: send_email, params: {{template: t, to: a@example.com{extra}}}}}\n"
    workflows = [load_workflow(workflow_text(body, id=f"news{i}", settings=settings)) for i in range(count)]
    return WorkflowSet(workflows, policy)


def test_a_policy_cap_holds_across_four_workflows() -> None:
    harness = Harness(newsletters(4, load_policy(POLICY), settings="{reentry: always}"))
    harness.send("go")
    assert [a["workflow_id"] for a in harness.actions] == ["news0"]
    capped = [e for e in harness.trace if e["transition"] == "capped"]
    assert [e["workflow_id"] for e in capped] == ["news1", "news2", "news3"]
    assert all(e["reason"] == "frequency cap (workspace policy): 1 email per 1w" for e in capped)
    harness.send("go", at=T0 + 8 * DAY)  # a week later: one more
    assert len(harness.actions) == 2


def test_without_a_policy_all_four_go_out() -> None:
    harness = Harness(newsletters(4))
    harness.send("go")
    assert len(harness.actions) == 4


def test_a_workflow_may_tighten_but_not_loosen_the_policy() -> None:
    looser = "{frequency_caps: {email: {max: 5, per: 1d}}}"
    loose = Harness(newsletters(2, load_policy(POLICY), settings=looser))
    loose.send("go")
    assert len(loose.actions) == 1  # the policy's 1 per 7d still holds
    tight = load_policy("version: 1\nfrequency_caps: {email: {max: 5, per: 7d}}\n")
    harness = Harness(newsletters(3, tight, settings="{frequency_caps: {email: {max: 1, per: 1d}}}"))
    harness.send("go")
    assert len(harness.actions) == 1  # the workflows' own, stricter cap
    assert {e["reason"] for e in harness.trace if e["transition"] == "capped"} == {
        "frequency cap: 1 email per 1d"
    }


def test_transactional_sends_are_not_held_by_the_policy() -> None:
    harness = Harness(newsletters(3, load_policy(POLICY), category="transactional"))
    harness.send("go")
    assert len(harness.actions) == 3


def test_policy_quiet_hours_delay_marketing_in_a_workflow_without_its_own() -> None:
    policy = load_policy('version: 1\nquiet_hours: {start: "21:00", end: "08:00"}\n')
    harness = Harness(newsletters(1, policy))
    late = T0 + 12 * HOUR  # 22:00 UTC (the contact has no timezone: UTC)
    result = harness.send("go", at=late)
    assert result.actions == []
    assert [e["reason"] for e in result.trace if e["transition"] == "waited"] == [
        "quiet hours (workspace policy): delayed until they end"
    ]
    harness.run_until(late + DAY)
    assert [a["ts"] - T0 for a in harness.actions] == [22 * HOUR]  # 08:00 the next morning


def test_the_policy_keeps_the_send_history_its_cap_needs() -> None:
    workflows = newsletters(1, load_policy(POLICY))
    assert workflows.cap_windows == {"email": 7 * DAY}
    assert workflows.policy.send_rates[0].per_second == 50.0
    assert "policy v3" in repr(workflows)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("frequency_caps: {email: {max: 1, per: 7d}}\n", "needs 'version'"),
        ("version: 1\nfrequency_caps: {emial: {max: 1, per: 7d}}\n", ":2:\\d+: unknown channel 'emial'"),
        ("version: 1\nsend_rates: {sms: {max: 0, per: 1s}}\n", ":2:\\d+: a send rate must allow at least 1"),
        ("version: 1\nquiet: {start: '21:00'}\n", ":2:\\d+: unknown field 'quiet'"),
        ("version: 1\nquiet_hours: {start: '25:00', end: '08:00'}\n", ":2:\\d+: .*25:00"),
    ],
)
def test_an_invalid_policy_is_refused_with_its_line(text: str, message: str) -> None:
    with pytest.raises(PolicyInvalid, match=message):
        load_policy(text)
