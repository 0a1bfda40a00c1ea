"""Turn a parsed definition into a ``Workflow``, collecting every issue on the way."""

from __future__ import annotations

import re
from typing import Any

from engine.analysis import analyse, report_dangling_edges, warn_self_triggering
from engine.compile_common import Reader, open_document
from engine.compile_nodes import compile_node
from engine.compile_settings import compile_settings
from engine.compile_triggers import compile_triggers
from engine.issues import ValidationIssue
from engine.model import STATUSES, GoalNode, Node, Status, WaitForNode, Workflow
from engine.parser import Document
from engine.schema_check import schema_issues

TOP_FIELDS = frozenset(
    {
        "id",
        "version",
        "name",
        "status",
        "description",
        "trigger",
        "settings",
        "start",
        "nodes",
        "layout",
        "metadata",
    }
)
WORKFLOW_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


def compile_document(document: Document) -> tuple[Workflow | None, list[ValidationIssue]]:
    """The compiled workflow (None if there is any error) and every issue found."""
    issues, reader, data = open_document(document, "a workflow definition", "id, version, nodes")
    if data is None:
        return None, issues.issues
    for path, mark in document.duplicate_keys:
        issues.add(path, f"'{path[-1]}' is defined twice", "remove or rename one of them", mark=mark)
    reader.check_fields(data, (), TOP_FIELDS, "the workflow")
    workflow_id = reader.string(data, "id", (), "a workflow", required=True)
    if workflow_id and not WORKFLOW_ID.fullmatch(workflow_id):
        issues.add(
            ("id",),
            f"workflow id {workflow_id!r} has characters that are not allowed",
            "use letters, digits, '_', '-' and '.'",
        )
    version = reader.integer(data, "version", (), "a workflow", minimum=1)
    if "version" not in data:
        issues.add((), "a workflow needs 'version' (an integer, 1 for the first)", at_key=True)
    name = reader.string(data, "name", (), "a workflow") or workflow_id or ""
    status = data.get("status")
    if status not in STATUSES:
        issues.add(
            ("status",) if "status" in data else (),
            f"status must be one of {', '.join(STATUSES)}, got {status!r}",
            "use draft while editing, published to run",
        )
    start = reader.string(data, "start", (), "a workflow", required=True)
    triggers = compile_triggers(reader, data.get("trigger"), ("trigger",))
    settings = compile_settings(reader, data.get("settings"), ("settings",))
    nodes = _compile_nodes(reader, data.get("nodes"))
    if nodes is not None:
        analyse(reader, start, nodes, settings.max_steps)
        warn_self_triggering(reader, triggers, nodes)
    if not issues.has_errors:
        for issue in schema_issues(data):
            issues.add(issue[0], f"schema: {issue[1]}", "see engine/schema/workflow.schema.json")
    if issues.has_errors or nodes is None or workflow_id is None or version is None or start is None:
        return None, issues.issues
    status_value: Status = status  # type: ignore[assignment]  # checked against STATUSES above
    goals = tuple(node for node in nodes.values() if isinstance(node, GoalNode) and node.event_type)
    live_types = {goal.event_type for goal in goals if goal.event_type}
    live_types.update(n.event_type for n in nodes.values() if isinstance(n, WaitForNode))
    live_types.update(c.event_type for c in settings.exit_when if c.event_type)
    workflow = Workflow(
        id=workflow_id,
        version=version,
        name=name,
        status=status_value,
        start=start,
        triggers=triggers,
        nodes=nodes,
        settings=settings,
        definition=data,
        goals=goals,
        live_event_types=frozenset(live_types),
        has_condition_exit=any(c.condition is not None for c in settings.exit_when),
        count_windows=reader.count_windows(),
    )
    return workflow, issues.issues


def _compile_nodes(reader: Reader, value: Any) -> dict[str, Node] | None:
    if value is None:
        reader.issues.add(
            (), "a workflow needs 'nodes'", "e.g. nodes: {welcome: {type: action, ...}}", at_key=True
        )
        return None
    mapping = reader.mapping(value, ("nodes",), "'nodes'")
    if mapping is None:
        return None
    if not mapping:
        reader.issues.add(("nodes",), "'nodes' is empty", "add at least the start node")
        return None
    nodes: dict[str, Node] = {}
    for node_id, spec in mapping.items():
        node = compile_node(reader, str(node_id), spec, ("nodes", str(node_id)))
        if node is not None:
            nodes[str(node_id)] = node
    if len(nodes) != len(mapping):
        # Broken nodes are reported; graph checks would only pile up follow-on errors, but an edge to a
        # node that is nowhere in the file is a mistake of its own.
        report_dangling_edges(reader, [str(node_id) for node_id in mapping])
        return None
    return nodes
