"""Internal actions: change the contact state inside the step (attributes, tags, scores, memberships)."""

from __future__ import annotations

from typing import Any

from engine.context import Run, StepContext
from engine.model import ActionNode, Workflow
from engine.profile import change_tags, merge_attrs
from engine.run_state import Outcome, end_run


def _tags(params: dict[str, Any]) -> list[str]:
    raw = params.get("tags", params.get("tag"))
    items = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else []
    return [tag for tag in items if isinstance(tag, str)]


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def apply_internal(ctx: StepContext, workflow: Workflow, run: Run, node: ActionNode) -> Outcome:
    from engine.nodes.action import render  # the action module imports this one

    params, error = render(ctx, run, node)
    if params is None:
        ctx.note(workflow, run, node.id, "skipped", f"template failed: {error}", action=node.action)
        return node.next
    profile = ctx.profile
    action = node.action
    detail: dict[str, Any] = {}
    if action == "update_contact":
        changes = dict(params.get("fields") or {}) if isinstance(params.get("fields"), dict) else {}
        if "status" in params:
            changes["status"] = params["status"]
        ctx.set_profile({**profile, "attrs": merge_attrs(profile["attrs"], changes)})
        detail["fields"] = sorted(changes)
    elif action in ("add_tag", "remove_tag"):
        tags = _tags(params)
        added, removed = (tags, ()) if action == "add_tag" else ((), tags)
        ctx.set_profile({**profile, "tags": change_tags(profile["tags"], added, removed)})
        detail["tags"] = tags
    elif action == "update_score":
        name = str(params.get("name"))
        old = profile["scores"].get(name, 0.0)
        value = _number(params.get("value"))
        delta = _number(params.get("delta"))
        new = value if value is not None else old + (delta or 0.0)
        ctx.set_profile({**profile, "scores": {**profile["scores"], name: new}})
        detail.update(score=name, value=new)
    elif action == "start_workflow":
        return _start(ctx, workflow, run, node, str(params.get("workflow")))
    elif action == "stop_workflow":
        target = str(params.get("workflow"))
        if target == workflow.id:
            ctx.note(workflow, run, node.id, "applied", "stop_workflow: this workflow", action=action)
            return end_run(ctx, workflow, run, f"stopped by node {node.id}")
        stopped = _stop(ctx, workflow, target)
        detail.update(target=target, stopped=stopped)
    ctx.note(workflow, run, node.id, "applied", action, action=action, **detail)
    return node.next


def _start(ctx: StepContext, workflow: Workflow, run: Run, node: ActionNode, target: str) -> Outcome:
    from engine.runs import start_run  # runs executes nodes, so it is imported when first needed

    ctx.note(workflow, run, node.id, "applied", "start_workflow", action="start_workflow", target=target)
    head = ctx.workflows.entry.get(target)
    if head is None:
        ctx.note(
            None,
            None,
            None,
            "skipped",
            f"start_workflow from {workflow.id}: not published",
            workflow_id=target,
        )
        return node.next
    entry = f"{run['id']}/{node.id}/{run['visits'].get(node.id, 1)}"
    variables = {k: v for k, v in run["vars"].items() if k != "arms"}
    start_run(ctx, head, entry, variables, f"started by {workflow.id}.{node.id}")
    return node.next


def _stop(ctx: StepContext, workflow: Workflow, target: str) -> bool:
    """End every live run of ``target`` (all its keys, for a keyed workflow)."""
    found = [(slot, run) for slot, run in ctx.runs.items() if run["workflow_id"] == target]
    for slot, other in found:
        target_workflow = ctx.workflows.get(target, other["version"])
        if target_workflow is None:
            ctx.remove_run(slot)
        else:
            end_run(ctx, target_workflow, other, f"stopped by {workflow.id}")
    return bool(found)
