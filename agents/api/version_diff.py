"""What changed between two stored versions of a workflow: nodes added, removed and changed (each change a
dotted field with its value before and after), and the same for the workflow-level parts (trigger, start,
settings, name, description). Positions on the canvas (``layout``) and the catalog's bookkeeping (version,
status, metadata) are not changes to the journey and are left out."""

from __future__ import annotations

from typing import Any

from agents.api import catalog_view
from agents.api.exceptions import ApiError

WORKFLOW_PARTS = ("name", "description", "trigger", "start", "settings")
MAX_CHANGES = 500  # a diff is for people: past this many field changes it says it was cut


def field_changes(before: Any, after: Any, path: str = "") -> list[dict[str, Any]]:
    """Every leaf that differs, as {field, before, after}; a value absent on one side is None there.
    Objects are compared key by key; lists of the same length item by item, else as one value."""
    if before == after:
        return []
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[dict[str, Any]] = []
        for key in sorted(set(before) | set(after), key=str):
            out.extend(field_changes(before.get(key), after.get(key), f"{path}.{key}" if path else str(key)))
        return out
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [c for i, (b, a) in enumerate(zip(before, after, strict=True))
                for c in field_changes(b, a, f"{path}.{i}" if path else str(i))]  # fmt: skip
    return [{"field": path, "before": before, "after": after}]


def diff_definitions(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    old_nodes: dict[str, Any] = old.get("nodes") or {}
    new_nodes: dict[str, Any] = new.get("nodes") or {}
    changed = []
    for node_id in sorted(set(old_nodes) & set(new_nodes)):
        changes = field_changes(old_nodes[node_id], new_nodes[node_id])
        if changes:
            changed.append({"node": node_id, "type": new_nodes[node_id].get("type"), "changes": changes})
    workflow = [c for part in WORKFLOW_PARTS for c in field_changes(old.get(part), new.get(part), part)]
    total = len(workflow) + sum(len(c["changes"]) for c in changed)
    if total > MAX_CHANGES:
        raise ApiError(
            422, "diff_too_large", f"{total} field changes: over {MAX_CHANGES}; compare closer versions"
        )
    return {
        "added": [
            {"node": n, "type": new_nodes[n].get("type")} for n in sorted(set(new_nodes) - set(old_nodes))
        ],
        "removed": [
            {"node": n, "type": old_nodes[n].get("type")} for n in sorted(set(old_nodes) - set(new_nodes))
        ],
        "changed": changed,
        "workflow": workflow,
    }


def version_diff(
    definitions: catalog_view.Definitions, workflow_id: str, old: int, new: int
) -> dict[str, Any]:
    """The diff from version ``old`` to version ``new`` of a stored workflow (404 when either is missing)."""
    found = {int(d["version"]): d for d in catalog_view.versions(definitions, workflow_id)}
    if not found:
        raise ApiError(404, "not_found", f"no workflow {workflow_id!r}")
    missing = [v for v in (old, new) if v not in found]
    if missing:
        raise ApiError(
            404, "no_version", f"{workflow_id} has no version {missing[0]}", {"versions": sorted(found)}
        )
    return {"id": workflow_id, "from": old, "to": new, **diff_definitions(found[old], found[new])}
