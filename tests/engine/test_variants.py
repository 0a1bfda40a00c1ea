"""send_email variants by topic: compile errors with their line, the choice by content affinity (default on
no affinity or a tie), what the action and the trace record, and condition triggers on affinity."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from engine.issues import format_issue
from engine.schema_check import workflow_schema
from engine.validation import load_workflow, validate_text
from engine.workflows import WorkflowSet
from tests.engine.fixtures import DAY, HOUR, T0, Harness, workflow_text

NEWSLETTER = """\
  a:
    type: action
    action: send_email
    params:
      template: weekly
      subject: "News for {{ contact.first_name }}"
      variants:
        - {topic: travel, template: weekly_travel}
        - {topic: food, subject: "Recipes for {{ contact.first_name }}"}
        - {topic: garden, template: weekly_garden, body: "Top {{ top_topics(1) | join }}"}
"""


def harness(body: str = NEWSLETTER) -> Harness:
    h = Harness(WorkflowSet([load_workflow(workflow_text(body))]))
    h.send("contact.added", at=T0, first_name="Ada", email="ada@example.com")
    return h


def sent(h: Harness) -> dict[str, Any]:
    h.send("go")
    assert len(h.actions) == 1, h.trace
    params: dict[str, Any] = h.actions[0]["params"]
    return params


def acted(h: Harness) -> dict[str, Any]:
    return next(entry for entry in h.trace if entry["transition"] == "acted")


def test_the_variant_of_the_highest_affinity_topic_is_sent_and_recorded() -> None:
    h = harness()
    h.send("email.opened", at=T0 + 1, topic="travel")
    h.send("email.clicked", at=T0 + 2, topic="food")
    params = sent(h)
    assert params == {
        "template": "weekly",
        "subject": "Recipes for Ada",
        "to": "ada@example.com",
        "variant": "food",
    }
    trace = acted(h)
    assert trace["variant"] == "food" and trace["affinity"] == pytest.approx(3.0)
    assert trace["reason"] == "send_email: variant food (affinity 3.00, highest of 3)"


def test_variant_fields_replace_the_default_and_are_rendered() -> None:
    h = harness()
    h.send("purchase", at=T0 + 1, category="Garden")
    params = sent(h)
    assert params["template"] == "weekly_garden" and params["subject"] == "News for Ada"
    assert params["body"] == "Top garden" and params["variant"] == "garden"


def test_no_affinity_for_any_variant_sends_the_default() -> None:
    h = harness()
    h.send("email.clicked", at=T0 + 1, topic="sports")  # a topic no variant has
    h.send("page.viewed", at=T0 + 2)  # engagement without a topic
    params = sent(h)
    assert params["template"] == "weekly" and params["subject"] == "News for Ada"
    assert params["variant"] == "default"
    assert acted(h)["reason"] == "send_email: default (no affinity for any of 3 topics)"


def test_a_tie_at_the_top_sends_the_default() -> None:
    h = harness()
    h.send("email.clicked", at=T0 + 1, topics=["travel", "food"])
    h.send("email.opened", at=T0 + 2, topic="garden")
    params = sent(h)
    assert params["variant"] == "default"
    assert acted(h)["reason"] == "send_email: default (tie at affinity 1.50: travel, food)"


def test_the_choice_follows_event_time_decay() -> None:
    h = harness()
    h.send("purchase", at=T0 + 1, topic="travel")  # 5, three half-lives before the send: 0.625
    h.send("email.opened", at=T0 + 90 * DAY, topic="food")  # 1 at the send
    h.now = T0 + 90 * DAY
    assert sent(h)["variant"] == "food"
    early = harness()
    early.send("purchase", at=T0 + 1, topic="travel")
    early.send("email.opened", at=T0 + 2, topic="food")
    assert sent(early)["variant"] == "travel"


def test_the_choice_is_deterministic() -> None:
    def run() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        h = harness()
        for i, topic in enumerate(("travel", "food", "garden", "food", "travel", "travel")):
            h.send("email.clicked" if i % 2 else "email.opened", at=T0 + i + 1, topic=topic)
        sent(h)
        return h.actions, h.trace

    first = run()
    assert first == run()
    assert first[0][0]["params"]["variant"] == "food"  # two clicks (6) against a click and an open (4)


def test_a_send_without_variants_is_unchanged() -> None:
    h = harness("  a: {type: action, action: send_email, params: {template: weekly}}\n")
    h.send("email.clicked", at=T0 + 1, topic="food")
    assert sent(h) == {"template": "weekly", "to": "ada@example.com"}
    assert "variant" not in acted(h) and acted(h)["reason"] == "send_email"


def variant_lines(*lines: str, action: str = "send_email") -> str:
    head = f"  a:\n    type: action\n    action: {action}\n    params:\n      template: weekly\n"
    return head + "".join(f"      {line}\n" for line in lines)


INVALID = [
    # (name, nodes body, line needle, message part)
    (
        "not a list",
        variant_lines("variants: {topic: food}"),
        "variants:",
        "'variants' must be a non-empty list",
    ),
    ("empty", variant_lines("variants: []"), "variants:", "'variants' must be a non-empty list"),
    ("no topic", variant_lines("variants:", "  - {template: x}"), "- {template", "a variant needs 'topic'"),
    (
        "topic not normal",
        variant_lines("variants:", "  - {topic: Food, template: x}"),
        "topic: Food",
        "write 'food': topics are trimmed and lower case",
    ),
    (
        "topic twice",
        variant_lines("variants:", "  - {topic: food, template: x}", "  - {topic: food, subject: y}"),
        "subject: y",
        "topic 'food' has two variants",
    ),
    (
        "nothing to replace",
        variant_lines("variants:", "  - {topic: food}"),
        "topic: food",
        "a variant needs 'template', 'subject' or 'body'",
    ),
    (
        "unknown field",
        variant_lines("variants:", "  - {topic: food, template: x, templte: x}"),
        "templte",
        "unknown field 'templte' in a variant",
    ),
    (
        "field not text",
        variant_lines("variants:", "  - {topic: food, subject: 3}"),
        "subject: 3",
        "'subject' must be a non-empty string, got a number",
    ),
    (
        "bad template",
        variant_lines("variants:", "  - {topic: food, subject: '{{ oops'}"),
        "oops",
        "template does not parse",
    ),
    (
        "not send_email",
        variant_lines("variants: [{topic: food, body: x}]", action="send_sms"),
        "variants:",
        "'variants' are for send_email, not send_sms",
    ),
    (
        "too many",
        variant_lines("variants: [" + ", ".join(f"{{topic: t{i}, template: x}}" for i in range(21)) + "]"),
        "variants:",
        "21 variants, at most 20",
    ),
    (
        "in a send_best message",
        "  a:\n    type: action\n    action: send_best\n    params:\n      messages:\n"
        "        email: {template: x, variants: [{topic: food, template: y}]}\n",
        "email:",
        "send_best messages cannot have variants",
    ),
]


@pytest.mark.parametrize(("name", "body", "needle", "message"), INVALID, ids=[case[0] for case in INVALID])
def test_invalid_variants_name_the_node_and_line(name: str, body: str, needle: str, message: str) -> None:
    text = workflow_text(body)
    issues = [i for i in validate_text(text, "wf.yaml") if i.severity == "error"]
    assert len(issues) == 1, [format_issue(i) for i in issues]
    issue = issues[0]
    assert issue.node_id == "a"
    assert message in format_issue(issue)
    assert issue.line == next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)
    assert issue.column is not None and format_issue(issue).startswith(f"wf.yaml:{issue.line}:")


def test_the_published_schema_knows_variants() -> None:
    validator = Draft202012Validator(workflow_schema())
    good = yaml.safe_load(workflow_text(NEWSLETTER))
    assert list(validator.iter_errors(good)) == []
    assert validate_text(workflow_text(NEWSLETTER)) == []
    bad_field = yaml.safe_load(workflow_text(NEWSLETTER.replace("body:", "bdy:")))
    assert list(validator.iter_errors(bad_field))
    on_sms = yaml.safe_load(
        workflow_text(variant_lines("variants: [{topic: food, body: x}]", action="send_sms"))
    )
    assert list(validator.iter_errors(on_sms))


CONDITION = workflow_text(
    "  a: {type: action, action: add_tag, params: {tag: foodie}}\n",
    trigger='{condition: "contact.affinity.food > 3.5"}',
)


def test_a_condition_trigger_on_affinity_fires_when_engagement_raises_it() -> None:
    h = Harness(WorkflowSet([load_workflow(CONDITION)]))
    h.send("contact.added", at=T0, first_name="Ada")
    h.send("email.clicked", at=T0 + 1, topic="food")
    assert not [e for e in h.trace if e["transition"] == "entered"]
    h.send("email.opened", at=T0 + 2, topic="food")  # 3 + 1: the condition becomes true on this event
    entered = [e for e in h.trace if e["transition"] == "entered"]
    assert len(entered) == 1 and entered[0]["ts"] == T0 + 2
    assert "foodie" in h.state["profile"]["tags"]  # type: ignore[index]


def test_a_condition_trigger_not_reading_affinity_is_not_woken_by_it() -> None:
    text = workflow_text(
        "  a: {type: action, action: add_tag, params: {tag: x}}\n",
        trigger="{condition: \"contact.plan == 'pro'\"}",
    )
    workflows = WorkflowSet([load_workflow(text)])
    assert workflows.watches_profile and not workflows.watches_affinity
    assert WorkflowSet([load_workflow(CONDITION)]).watches_affinity


def test_a_send_delayed_by_quiet_hours_chooses_again_when_it_resumes() -> None:
    text = workflow_text(NEWSLETTER, settings='{quiet_hours: {start: "21:00", end: "08:00"}}')
    h = Harness(WorkflowSet([load_workflow(text)]))
    h.send("contact.added", at=T0, first_name="Ada", email="ada@example.com")  # T0 is 10:00 UTC
    h.send("email.opened", at=T0 + 1, topic="travel")
    h.send("go", at=T0 + 12 * HOUR)  # 22:00: delayed until 08:00
    waited = [e for e in h.trace if e["transition"] == "waited"]
    assert not h.actions and waited[0]["variant"] == "travel"
    h.send("email.clicked", at=T0 + 13 * HOUR, topic="food")
    h.run_until(T0 + DAY)
    assert [a["params"]["variant"] for a in h.actions] == ["food"]
