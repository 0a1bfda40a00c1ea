"""Move a contact's in-flight run of a workflow to another version, with a node mapping.

The run keeps its id, variables, step count and pending timer token (so the wake-up it is waiting for
still finds it); its node and visit counts are renamed through the mapping. A waiting run may only be
mapped onto a node of the same kind (wait -> wait, wait_for -> wait_for, quiet-delayed action -> action).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from engine.exceptions import MigrationError
from engine.model import Workflow
from engine.types import ContactState
from engine.workflows import WorkflowSet


class MigrationResult(NamedTuple):
    state: ContactState
    trace: list[dict[str, Any]]


def check_mapping(old: Workflow, new: Workflow, mapping: Mapping[str, str]) -> list[str]:
    """Problems with ``mapping`` from ``old`` to ``new`` (empty when it is usable)."""
    problems: list[str] = []
    if old.id != new.id:
        problems.append(f"versions of different workflows: {old.id} and {new.id}")
    for source, target in mapping.items():
        if source not in old.nodes:
            problems.append(f"'{source}' is not a node of {old.id} v{old.version}")
            continue
        if target not in new.nodes:
            problems.append(f"'{target}' is not a node of {new.id} v{new.version}")
            continue
        if old.nodes[source].type != new.nodes[target].type:
            problems.append(
                f"'{source}' ({old.nodes[source].type}) cannot become '{target}' "
                f"({new.nodes[target].type}): a run waiting there would resume the wrong way"
            )
    for node_id, node in old.nodes.items():
        if node.type in ("wait", "wait_for") and node_id not in mapping and node_id not in new.nodes:
            problems.append(f"waiting node '{node_id}' has no mapping and does not exist in v{new.version}")
    return problems


def migrate(
    state: ContactState,
    workflows: WorkflowSet,
    slot: str,
    to_version: int,
    mapping: Mapping[str, str],
    now: int,
) -> MigrationResult:
    """The state with this contact's live run in ``slot`` (the workflow id, or ``<id>#<key>`` for a keyed
    run, see engine.context.run_slot) moved to ``to_version``.

    Nodes missing from ``mapping`` keep their id (it must exist in the new version). Raises MigrationError.
    """
    runs = state.get("runs") or {}
    run = runs.get(slot)
    if run is None:
        return MigrationResult(state, [])
    workflow_id: str = run["workflow_id"]
    old = workflows.get(workflow_id, run["version"])
    new = workflows.get(workflow_id, to_version)
    if old is None or new is None:
        missing = run["version"] if old is None else to_version
        raise MigrationError([f"{workflow_id} v{missing} is not in the workflow set"])
    if old.version == new.version:
        return MigrationResult(state, [])
    problems = check_mapping(old, new, mapping)
    target = mapping.get(run["node"], run["node"])
    if target not in new.nodes:
        problems.append(
            f"the run is at '{run['node']}', which has no mapping and no node of that id in v{new.version}"
        )
    elif new.nodes[target].type != old.nodes[run["node"]].type:
        problems.append(
            f"the run is at '{run['node']}' ({old.nodes[run['node']].type}), mapped to "
            f"'{target}' ({new.nodes[target].type})"
        )
    if problems:
        raise MigrationError(sorted(set(problems)))
    visits: dict[str, int] = {}
    for node_id, count in run["visits"].items():
        renamed = mapping.get(node_id, node_id)
        if renamed in new.nodes:
            visits[renamed] = visits.get(renamed, 0) + count
    moved = {**run, "version": new.version, "node": target, "visits": visits}
    if run.get("wait"):
        moved["wait"] = {**run["wait"], "node": target}
    entry = {
        "ts": now,
        "contact_id": state["contact_id"],
        "workflow_id": workflow_id,
        "version": new.version,
        "run_id": run["id"],
        "node_id": target,
        "transition": "migrated",
        "reason": f"moved from v{old.version} node {run['node']}",
        "from_version": old.version,
    }
    return MigrationResult({**state, "runs": {**runs, slot: moved}}, [entry])
