"""Workflow recommendations per kind: each made from enough data, none from too little or no real gap;
every change applies to the definition and the result compiles."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from engine.validation import validate_definition
from ml.patch import apply_ops, diff
from ml.recommend import MIN_SAMPLE
from ml.workflow_recs import Figures, recommendations


def definition() -> dict[str, Any]:
    return {
        "id": "welcome", "version": 3, "name": "Welcome", "status": "published",
        "trigger": {"event": "signed_up"}, "start": "split",
        "nodes": {
            "split": {"type": "split", "holdout": 10, "arms": [
                {"name": "a", "weight": 45, "next": "email_1"},
                {"name": "b", "weight": 45, "next": "email_1"}]},
            "email_1": {"type": "action", "action": "send_email",
                        "params": {"template": "w1", "subject": "Welcome"}, "next": "wait_1d"},
            "wait_1d": {"type": "wait", "duration": "1d", "next": "email_2"},
            "email_2": {"type": "action", "action": "send_email",
                        "params": {"template": "w2", "subject": "Tips"}, "next": "wait_buy"},
            "wait_buy": {"type": "wait_for", "event": "purchase", "timeout": "3d", "on_event": "bought",
                         "on_timeout": "done"},
            "bought": {"type": "goal", "event": "purchase"},
            "done": {"type": "exit", "reason": "no purchase"},
        },
    }  # fmt: skip


def send(node: str, sent: int, opened: int, clicked: int = 0) -> dict[str, Any]:
    return {
        "node": node,
        "channel": "email",
        "sent": sent,
        "opened": opened,
        "clicked": clicked,
        "converted": 0,
    }


def kinds(figures: Figures) -> list[tuple[str, str]]:
    return [(r.kind, r.node) for r in recommendations(definition(), figures)]


def applied(change: list[dict[str, Any]]) -> dict[str, Any]:
    draft = apply_ops({**definition(), "version": 4, "status": "draft"}, change)
    assert [i for i in validate_definition(draft) if i.severity == "error"] == []
    return draft


def test_open_rate_drop_replaces_the_fixed_wait_before_the_send() -> None:
    (rec,) = recommendations(
        definition(), Figures(sends=[send("email_1", 1000, 400), send("email_2", 900, 216)])
    )
    assert (rec.kind, rec.node) == ("open_rate_drop", "email_2")
    assert rec.evidence["sent"] == 900 and rec.evidence["opened"] == 216 and rec.evidence["z"] < -2
    assert rec.change == [
        {"op": "remove", "path": "/nodes/wait_1d/duration"},
        {"op": "add", "path": "/nodes/wait_1d/until", "value": "best_send_time"},
    ]
    assert "40.0%" in rec.expected_effect and "24.0%" in rec.expected_effect
    draft = applied(rec.change)
    assert draft["nodes"]["wait_1d"] == {"type": "wait", "until": "best_send_time", "next": "email_2"}
    assert diff(definition(), draft, rec.change)[0] == {
        "path": "/nodes/wait_1d/duration", "before": "1d", "after": None,
    }  # fmt: skip


def test_no_send_rate_suggestion_without_enough_sends_or_a_real_gap() -> None:
    assert kinds(Figures(sends=[send("email_1", 60, 30), send("email_2", 60, 10)])) == []
    assert kinds(Figures(sends=[send("email_1", 200, 50), send("email_2", 200, 40)])) == [
        ("fixed_wait_before_send", "wait_1d")
    ]  # enough sends for the wait kind, but no significant open-rate gap


def test_click_rate_low_flags_the_call_to_action() -> None:
    sends = [send("email_1", 1000, 500, 150), send("email_2", 1000, 500, 40)]
    recs = [r for r in recommendations(definition(), Figures(sends=sends)) if r.kind == "click_rate_low"]
    assert [r.node for r in recs] == ["email_2"]
    assert recs[0].change[0]["path"] == "/nodes/email_2/description"
    assert "call to action" in recs[0].change[0]["value"] and recs[0].evidence["z"] < -2
    applied(recs[0].change)
    same = [send("email_1", 1000, 500, 150), send("email_2", 1000, 500, 140)]
    assert [r for r in recommendations(definition(), Figures(sends=same)) if r.kind == "click_rate_low"] == []


def test_fixed_wait_before_a_send_needs_enough_sends() -> None:
    (rec,) = recommendations(definition(), Figures(sends=[send("email_2", MIN_SAMPLE, 30)]))
    assert (rec.kind, rec.node, rec.evidence["duration"]) == ("fixed_wait_before_send", "wait_1d", "1d")
    applied(rec.change)
    assert kinds(Figures(sends=[send("email_2", MIN_SAMPLE - 1, 30)])) == []


def funnel(
    entered: int, reached: dict[str, int], goals: dict[str, int] | None = None
) -> list[dict[str, Any]]:
    rows = [{"step": "entered", "node": "", "why": "", "runs": entered}]
    rows += [{"step": "reached", "node": n, "why": "", "runs": r} for n, r in reached.items()]
    rows += [{"step": "goal", "node": n, "why": "", "runs": r} for n, r in (goals or {}).items()]
    return rows


def test_drop_off_after_a_single_exit_node() -> None:
    reached = {"split": 400, "email_1": 400, "wait_1d": 400, "email_2": 150, "wait_buy": 150, "bought": 20}
    recs = recommendations(definition(), Figures(funnel=funnel(400, reached, {"bought": 20})))
    assert [(r.kind, r.node) for r in recs] == [("drop_off", "wait_1d")]
    assert recs[0].evidence["continued"] == 150 and recs[0].change == []
    fine = {**reached, "email_2": 300, "wait_buy": 300}
    assert kinds(Figures(funnel=funnel(400, fine, {"bought": 20}))) == []
    small = {k: v // 10 for k, v in reached.items()}
    assert kinds(Figures(funnel=funnel(40, small, {"bought": 2}))) == []


def test_goal_never_reached_after_enough_runs_only() -> None:
    reached = {"split": 300, "email_1": 300, "wait_1d": 300, "email_2": 300, "wait_buy": 300}
    (rec,) = recommendations(definition(), Figures(funnel=funnel(300, reached)))
    assert (rec.kind, rec.node, rec.change) == ("goal_never_reached", "bought", [])
    assert rec.evidence["entered"] == 300 and "300 runs" in rec.expected_effect
    few = {k: 50 for k in reached}
    assert kinds(Figures(funnel=funnel(50, few))) == []
    assert kinds(Figures(funnel=funnel(300, reached, {"bought": 1}))) == []


def lift(a: tuple[int, int], b: tuple[int, int], holdout: tuple[int, int]) -> list[dict[str, Any]]:
    hn, hx = holdout
    rows = []
    for arm, (n, x) in (("a", a), ("b", b), ("holdout", holdout)):
        rate, h = x / n, hx / hn
        margin = 1.96 * ((rate * (1 - rate) / n + h * (1 - h) / hn) ** 0.5)
        diff_ = None if arm == "holdout" else rate - h
        rows.append({"split_node": "split", "arm": arm, "contacts": n, "conversions": x, "rate": rate,
                     "diff_low": None if diff_ is None else diff_ - margin,
                     "diff_high": None if diff_ is None else diff_ + margin})  # fmt: skip
    return rows


def test_split_winner_is_promoted_only_with_significance() -> None:
    (rec,) = recommendations(definition(), Figures(lift=lift((1000, 200), (1000, 120), (200, 20))))
    assert (rec.kind, rec.node, rec.evidence["winner"]) == ("split_winner", "split", "a")
    assert rec.change == [
        {"op": "replace", "path": "/nodes/split/arms/0/weight", "value": 100},
        {"op": "replace", "path": "/nodes/split/arms/1/weight", "value": 0},
        {"op": "replace", "path": "/nodes/split/holdout", "value": 0},
    ]
    assert rec.evidence["z_against_arms"]["b"] > 2 and rec.evidence["diff_low"] > 0
    draft = applied(rec.change)
    assert [a["weight"] for a in draft["nodes"]["split"]["arms"]] == [100, 0]
    assert kinds(Figures(lift=lift((1000, 130), (1000, 120), (200, 20)))) == []  # a and b too close
    assert kinds(Figures(lift=lift((90, 30), (90, 10), (90, 5)))) == []  # too few contacts per arm


def test_ids_are_stable_and_depend_on_version_and_change() -> None:
    figures = Figures(sends=[send("email_2", 500, 100)])
    first, again = recommendations(definition(), figures), recommendations(definition(), figures)
    assert [r.id for r in first] == [r.id for r in again] and first[0].id.startswith("rec_")
    other = copy.deepcopy(definition())
    other["version"] = 4
    assert recommendations(other, figures)[0].id != first[0].id


def test_patch_refuses_an_op_that_does_not_fit() -> None:
    from ml.exceptions import MLError

    with pytest.raises(MLError):
        apply_ops(definition(), [{"op": "replace", "path": "/nodes/nope/duration", "value": "1h"}])
    with pytest.raises(MLError):
        apply_ops(definition(), [{"op": "remove", "path": "/nodes/wait_1d/until"}])


def channel_row(
    segment: str, channel: str, sent: int, clicked: int, opened: int = 0, *, workflow: str = "promo",
    node: str = "offer", version: int = 1,
) -> dict[str, Any]:  # fmt: skip
    """A `channels` report row whose reward is what the bandit would score: 0.7 per click, 0.3 per open."""
    reward = 0.7 * clicked + 0.3 * opened
    return {"workflow_id": workflow, "version": version, "node": node, "channel": channel,
            "segment": segment, "sent": sent, "opened": opened + clicked, "clicked": clicked,
            "converted": 0, "reward": reward, "reward_sq": 0.49 * clicked + 0.09 * opened}  # fmt: skip


def welcome_sends(segments: dict[str, int]) -> list[dict[str, Any]]:
    """email_1's own sends per segment (email), as the `channels` report lists them for this workflow."""
    return [
        channel_row(segment, "email", sent, 0, sent // 5, workflow="welcome", node="email_1", version=3)
        for segment, sent in segments.items()
    ]


def test_bandit_channel_turns_a_fixed_send_into_send_best_when_most_of_its_audience_prefers_sms() -> None:
    evidence = [channel_row("na", "email", 400, 20, 60), channel_row("na", "sms", 300, 60),
                channel_row("emea", "email", 400, 60, 80), channel_row("emea", "sms", 300, 15)]  # fmt: skip
    rows = [*evidence, *welcome_sends({"na": 300, "emea": 100})]
    (rec,) = [r for r in recommendations(definition(), Figures(channels=rows)) if r.kind == "bandit_channel"]
    assert rec.node == "email_1" and rec.evidence["channel"] == "email"
    assert rec.evidence["proposed"] == ["sms"]
    na = rec.evidence["segments"]["na"]
    assert na["prefers"] == "sms" and na["z"] >= 2 and rec.evidence["segments"]["emea"]["prefers"] is None
    # na: email 20 clicks + 60+80 opens over 700 sends vs sms 60 clicks over 300
    email_rate = (0.7 * 20 + 0.3 * (60 + 60)) / 700
    assert na["channels"]["email"]["reward_rate"] == round(email_rate, 4)
    assert rec.evidence["share_preferring"] == 0.75 and rec.evidence["sent"] == 400
    assert rec.change == [
        {"op": "replace", "path": "/nodes/email_1/action", "value": "send_best"},
        {"op": "replace", "path": "/nodes/email_1/params", "value": {"messages": {
            "email": {"template": "w1", "subject": "Welcome"},
            "sms": {"template": "w1", "body": "Welcome"}}}},
    ]  # fmt: skip
    draft = applied(rec.change)
    assert draft["nodes"]["email_1"]["action"] == "send_best"


def test_no_bandit_channel_without_enough_sends_a_significant_gap_or_most_of_the_audience() -> None:
    def found(rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
        return [k for k in kinds(Figures(channels=rows)) if k[0] == "bandit_channel"]

    strong = [channel_row("na", "email", 400, 20, 60), channel_row("na", "sms", 300, 60)]
    assert found([*strong, *welcome_sends({"na": 300})]) == [("bandit_channel", "email_1")]
    assert found([*strong, *welcome_sends({"na": MIN_SAMPLE - 1})]) == []  # too few sends at the node
    few_sms = [channel_row("na", "email", 400, 20, 60), channel_row("na", "sms", MIN_SAMPLE - 1, 30)]
    assert found([*few_sms, *welcome_sends({"na": 300})]) == []  # too little evidence for sms
    close = [channel_row("na", "email", 400, 40, 60), channel_row("na", "sms", 300, 36)]
    assert found([*close, *welcome_sends({"na": 300})]) == []  # no significant gap
    assert found([*strong, *welcome_sends({"na": 100, "emea": 300})]) == []  # only a quarter prefers sms
