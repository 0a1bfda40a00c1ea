"""Ids and types are matched whole: `$` alone would accept them with a trailing newline."""

from __future__ import annotations

from engine.events import Limits, Malformed, validate_event
from engine.validation import validate_definition


def test_an_event_type_with_a_trailing_newline_is_refused() -> None:
    doc = {"event_id": "e1", "contact_id": "c1", "type": "click", "ts": 1_767_225_600_000}
    assert not isinstance(validate_event(doc, b"c1", Limits()), Malformed)
    refused = validate_event({**doc, "type": "click\n"}, b"c1", Limits())
    assert isinstance(refused, Malformed), refused


def test_workflow_and_node_ids_with_a_trailing_newline_are_refused() -> None:
    definition = {"id": "welcome", "version": 1, "status": "draft", "trigger": {"event": "signup"},
                  "start": "a", "nodes": {"a": {"type": "exit"}}}  # fmt: skip
    assert not [i for i in validate_definition(definition) if i.severity == "error"]
    for broken in ({**definition, "id": "welcome\n"},
                   {**definition, "start": "a\n", "nodes": {"a\n": {"type": "exit"}}}):  # fmt: skip
        assert [i for i in validate_definition(broken) if i.severity == "error"], broken
