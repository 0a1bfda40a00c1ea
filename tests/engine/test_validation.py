"""Invalid definitions are rejected with the node, the file line and a hint; valid ones pass schema too."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from engine.exceptions import WorkflowInvalid
from engine.issues import ValidationIssue, format_issue
from engine.schema_check import workflow_schema
from engine.validation import load_workflow, validate_definition, validate_file, validate_text
from tests.engine.fixtures import EXAMPLES, workflow_text

GOOD = """  a: {type: wait, duration: 1h, next: b}
  b: {type: action, action: send_email, params: {template: x}}
"""


def only_error(text: str) -> ValidationIssue:
    """The first error; any others must be about the same place (no unrelated follow-on errors)."""
    issues = [i for i in validate_text(text, "wf.yaml") if i.severity == "error"]
    assert issues and all(i.node_id == issues[0].node_id for i in issues), [format_issue(i) for i in issues]
    return issues[0]


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


CASES = [
    # (name, nodes body, extra top-level, expected node, line needle, message part, hint part)
    (
        "unknown node type",
        GOOD + "  c: {type: wiat, duration: 1h}\n",
        {},
        "c",
        "type: wiat",
        "unknown node type",
        "did you mean 'wait'",
    ),
    (
        "node type that is not text",  # a list is unhashable: the membership test raised TypeError (a 500)
        GOOD + "  c: {type: [wait], duration: 1h}\n",
        {},
        "c",
        "type: [wait]",
        "unknown node type",
        "did you mean 'wait'",
    ),
    (
        "unknown field",
        GOOD.replace("duration: 1h", "duraton: 1h"),
        {},
        "a",
        "duraton",
        "unknown field 'duraton'",
        "did you mean 'duration'",
    ),
    (
        "dangling edge",
        GOOD.replace("next: b", "next: bb"),
        {},
        "a",
        "next: bb",
        "unknown node 'bb'",
        "did you mean 'b'",
    ),
    ("unreachable", GOOD + "  lost: {type: exit}\n", {}, "lost", "lost:", "unreachable", "link to it"),
    (
        "cycle without wait",
        "  a: {type: action, action: add_tag, params: {tag: x}, next: b}\n"
        "  b: {type: branch, branches: [{when: 'true', next: a}], default: a}\n",
        {},
        "a",
        "  a:",
        "cycle without a wait: a -> b -> a",
        "put a wait",
    ),
    (
        "missing timeout",
        "  a: {type: wait_for, event: x, on_event: b}\n  b: {type: exit}\n",
        {},
        "a",
        "  a:",
        "no timeout branch",
        "timeout: 3d",
    ),
    (
        "split weights",
        "  a:\n    type: split\n    arms: [{name: x, weight: 60, next: b}, {name: y, weight: 30,"
        " next: b}]\n  b: {type: exit}\n",
        {},
        "a",
        "arms:",
        "add up to 90",
        "sum to exactly 100",
    ),
    (
        "bad condition",
        "  a:\n    type: branch\n    branches:\n      - when: \"contact.plan === 'pro'\"\n"
        "        next: b\n    default: b\n  b: {type: exit}\n",
        {},
        "a",
        "when:",
        "condition does not parse",
        None,
    ),
    (
        "bad template",
        GOOD.replace("template: x", "subject: '{{ contact.name '"),
        {},
        "b",
        "subject",
        "template",
        "Jinja",
    ),
    (
        "bad duration",
        GOOD.replace("duration: 1h", "duration: 1 hour"),
        {},
        "a",
        "duration",
        "not a duration",
        "30m",
    ),
    ("bad cron", GOOD, {"trigger": "{schedule: '61 * * * *'}"}, None, "trigger:", "bad cron", "5 fields"),
    (
        "unknown action",
        GOOD.replace("send_email", "send_emial"),
        {},
        "b",
        "send_emial",
        "unknown action",
        "did you mean 'send_email'",
    ),
    (
        "missing params",
        GOOD.replace("params: {template: x}", "params: {body: x}"),
        {},
        "b",
        "params",
        "needs 'template' or 'subject'",
        None,
    ),
    (
        "bad notify reason",
        "  a: {type: action, action: notify, params: {team: s, reason: later}}\n",
        {},
        "a",
        "reason: later",
        "unknown notification reason",
        "did you mean 'alert'",
    ),
    (
        "unknown start",
        GOOD,
        {"start": "aa"},
        None,
        "start: aa",
        "start node 'aa' does not exist",
        "did you mean",
    ),
    ("bad status", GOOD, {"status": "live"}, None, "status: live", "status must be one of", None),
    (
        "path too long",
        GOOD,
        {"settings": "{max_steps: 1}"},
        None,
        "nodes:",
        "longest path has 2 nodes",
        "max_steps",
    ),
    (
        "bad time of day",
        "  a: {type: wait, until_time: '25:00', next: b}\n  b: {type: exit}\n",
        {},
        "a",
        "until_time",
        "not a time of day",
        None,
    ),
    (
        "quiet hours fallback",
        GOOD,
        {"settings": "{quiet_hours: {start: '21:00', end: '08:00', fallback: wait}}"},
        None,
        "settings:",
        "quiet-hours fallback",
        "delay or skip",
    ),
    (
        "unknown trigger",
        GOOD,
        {"trigger": "{evnt: go}"},
        None,
        "trigger:",
        "unknown field 'evnt'",
        "did you mean 'event'",
    ),
]


@pytest.mark.parametrize(
    ("name", "body", "top", "node", "needle", "message", "hint"), CASES, ids=[case[0] for case in CASES]
)
def test_invalid_definitions_name_node_line_and_hint(
    name: str, body: str, top: dict[str, str], node: str | None, needle: str, message: str, hint: str | None
) -> None:
    text = workflow_text(body, **top)
    issue = only_error(text)
    assert issue.node_id == node
    assert issue.line == line_of(text, needle), format_issue(issue)
    assert message in issue.message
    if hint is not None:
        assert issue.hint is not None and hint in issue.hint
    assert issue.path == "wf.yaml"
    assert format_issue(issue).startswith(f"wf.yaml:{issue.line}:{issue.column}: ")


def test_condition_error_column_points_into_the_yaml_line() -> None:
    text = workflow_text(
        "  a:\n    type: branch\n    branches:\n      - when: \"contact.plan === 'pro'\"\n"
        "        next: b\n    default: b\n  b: {type: exit}\n"
    )
    issue = only_error(text)
    line = text.splitlines()[issue.line - 1]  # type: ignore[operator]
    assert issue.column is not None
    assert line[issue.column - 1] == "="  # the caret lands on the offending operator


def test_parse_errors_and_duplicates_have_lines() -> None:
    broken = only_error("id: x\nnodes:\n  a: {type: exit\n")
    assert broken.line is not None and "not valid YAML" in broken.message
    duplicated = workflow_text(GOOD + "  a: {type: exit}\n")
    issue = next(i for i in validate_text(duplicated) if "defined twice" in i.message)
    assert issue.line == len(duplicated.splitlines()) and issue.node_id == "a"


def test_aliases_are_refused_at_their_line() -> None:
    """Nested aliases stand for an exponentially large tree (and one can refer to itself)."""
    levels = "".join(f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 9))
    bomb = only_error(workflow_text(GOOD) + "layout:\n  l0: &l0 [a]\n" + levels)
    assert "aliases (*l0) are not allowed" in bomb.message
    assert bomb.line == len(workflow_text(GOOD).splitlines()) + 3
    assert "aliases (*r)" in only_error("id: x\nlayout: &r [*r]\n").message


@pytest.mark.parametrize(
    ("duration", "says"),
    [("99999999999999999999d", "ten years"), ("3651d", "ten years"), ("1.5", "not a duration"),
     ("[1]", "not a duration")],
)  # fmt: skip
def test_durations_are_bounded_and_typed(duration: str, says: str) -> None:
    text = workflow_text(f"  a: {{type: wait, duration: {duration}, next: b}}\n  b: {{type: exit}}\n")
    issue = only_error(text)
    assert says in issue.message and issue.node_id == "a" and issue.line is not None


@pytest.mark.parametrize("cron", ["0 9 * * \u00b2", "*/\u00b2 * * * *"])
def test_a_cron_with_non_ascii_digits_is_an_issue_not_a_crash(cron: str) -> None:
    issue = only_error(workflow_text("  a: {type: exit}\n", trigger=f'{{schedule: "{cron}"}}'))
    assert "is not a number" in issue.message or "bad step" in issue.message, issue.message


def test_load_workflow_raises_with_all_issues_and_file_validation(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(workflow_text(GOOD.replace("next: b", "next: zz") + "  c: {type: nope}\n"))
    with pytest.raises(WorkflowInvalid) as raised:
        load_workflow(path)
    assert len(raised.value.issues) >= 1
    assert "bad.yaml:" in str(raised.value)
    assert validate_file(tmp_path / "missing.yaml")[0].message.startswith("cannot read")


def test_examples_are_valid_and_match_the_published_schema() -> None:
    validator = Draft202012Validator(workflow_schema())
    files = sorted(EXAMPLES.glob("*.yaml"))
    assert len(files) == 13
    for path in files:
        assert validate_file(path) == [], path
        data = yaml.safe_load(path.read_text())
        assert list(validator.iter_errors(data)) == [], path


def test_schema_rejects_what_validation_rejects() -> None:
    validator = Draft202012Validator(workflow_schema())
    data = yaml.safe_load(workflow_text(GOOD))
    assert list(validator.iter_errors(data)) == []
    data["nodes"]["a"]["bogus"] = 1
    assert list(validator.iter_errors(data))
    assert validate_definition(data)[0].message.startswith("unknown field 'bogus'")


def test_layout_is_ignored_and_json_works() -> None:
    workflow = load_workflow(
        '{"id": "j", "version": 3, "status": "draft", "trigger": {"event": "go"},\n'
        '"start": "a", "nodes": {"a": {"type": "exit", "layout": {"x": 1}}}, "layout": {}}'
    )
    assert workflow.version == 3 and workflow.status == "draft"
