"""A 60-node workflow validates, runs to its end, and traces exactly one entry per node visited."""

from __future__ import annotations

from engine.validation import load_workflow, validate_text
from engine.workflows import WorkflowSet
from tests.engine.fixtures import DAY, T0, Harness, node_visits, sixty_node_definition


def test_sixty_node_workflow_runs_to_the_end_with_one_trace_entry_per_visit() -> None:
    text, expected_path = sixty_node_definition()
    assert validate_text(text) == []
    workflow = load_workflow(text)
    assert len(workflow.nodes) == 60
    harness = Harness(WorkflowSet([workflow]))
    harness.send("contact.added", plan="pro")
    harness.send("go")
    harness.run_until(T0 + DAY)
    assert node_visits(harness.trace) == expected_path
    assert harness.transitions()[-1] == ("done", "exited")
    assert [a["node_id"] for a in harness.actions] == [f"act_{i}" for i in range(11)] + ["tail_action"]
    assert harness.live_runs() == {}
    assert harness.state["profile"]["tags"] == sorted(f"t{i}" for i in range(11))  # type: ignore[index]


def test_sixty_node_workflow_other_path() -> None:
    text, _ = sixty_node_definition()
    harness = Harness(WorkflowSet([load_workflow(text)]))
    harness.send("go")
    harness.run_until(T0 + DAY)
    visited = node_visits(harness.trace)
    assert visited[-3:] == ["tail_other", "tail_action", "done"]
    assert len(visited) == 11 * 4 + 4
    assert len(harness.actions) == 11 * 2 + 2
