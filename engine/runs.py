"""Run execution: start a run, execute nodes until it waits or ends, and resume it."""

from __future__ import annotations

from typing import Any

from engine.context import Run, StepContext, run_slot
from engine.durations import format_duration
from engine.model import Workflow
from engine.nodes import HANDLERS
from engine.run_state import Halt, end_run, new_run, run_key_of, working_copy


def reentry_block(ctx: StepContext, workflow: Workflow, slot: str) -> str | None:
    """Why the contact may not enter ``workflow`` (in run slot ``slot``) now, or None."""
    if slot in ctx.runs:
        return "already in a live run of this workflow" + ("" if slot == workflow.id else " for this key")
    last = ctx.entries().get(slot)
    if last is None:
        return None
    settings = workflow.settings
    if settings.reentry == "never":
        return "re-entry: never"
    if settings.reentry == "after" and ctx.now - last < settings.reentry_after_ms:
        return "re-entry: too soon after the last entry"
    return None


def start_run(
    ctx: StepContext, workflow: Workflow, entry: str, variables: dict[str, Any], reason: str
) -> bool:
    """Start a run if the workflow's rules allow it; returns whether it started."""
    slot = run_slot(workflow.id, run_key_of(workflow, variables))
    blocked = reentry_block(ctx, workflow, slot) or _run_limit_block(ctx, workflow)
    if blocked is not None:
        ctx.note(workflow, None, None, "skipped", f"{reason}: {blocked}")
        return False
    run = new_run(ctx, workflow, entry, variables)
    ctx.record_entry(slot)
    ctx.note(workflow, run, None, "entered", reason, entry=entry)
    ctx.set_run(run)  # live while it advances: in_workflow() sees it, re-entry is blocked
    advance(ctx, workflow, run, workflow.start)
    return True


def _run_limit_block(ctx: StepContext, workflow: Workflow) -> str | None:
    """Loop protection: the run limit reached within its window, or None (then this start is counted).
    Only runs started by incoming events count: a loop needs an event that comes back, while wake-ups
    (schedules, inactivity, dates) are bounded by their own timing."""
    if ctx.event["type"] == "timer.fired":
        return None
    limit = workflow.settings.max_runs
    since = ctx.now - limit.per_ms
    starts = [ts for ts in ctx.run_starts(workflow.id) if ts > since]
    if len(starts) >= limit.max:
        return f"run limit: {limit.max} runs per {format_duration(limit.per_ms)} (loop protection)"
    ctx.set_run_starts(workflow.id, [*starts, ctx.now])
    return None


def advance(ctx: StepContext, workflow: Workflow, run: Run, node_id: str | None) -> None:
    """Execute from ``node_id`` until the run parks or ends. ``run`` is this step's own copy."""
    limit = workflow.settings.max_steps
    nodes = workflow.nodes
    visits = run["visits"]
    current = node_id
    while current is not None:
        if run["steps"] >= limit:
            end_run(ctx, workflow, run, "step_limit", current, limit=limit)
            return
        node = nodes[current]
        run["steps"] += 1
        visits[current] = visits.get(current, 0) + 1
        run["node"] = current
        outcome = HANDLERS[node.type](ctx, workflow, run, node)
        if isinstance(outcome, Halt):
            return
        if run["id"] in ctx.stopped:  # stopped by an action of another run it started
            return
        current = outcome
    end_run(ctx, workflow, run, "end of path")


def resume(ctx: StepContext, workflow: Workflow, run: Run, branch: str, reason: str, **details: Any) -> None:
    """Wake a parked run: ``branch`` is "next", "on_timeout", "on_event" or "again" (re-run the node)."""
    run = working_copy(run)
    wait = run["wait"] or {}
    run["wait"] = None
    node_id: str = wait.get("node") or run["node"]
    node = workflow.nodes.get(node_id)
    if node is None:
        end_run(ctx, workflow, run, f"node {node_id} no longer exists")
        return
    ctx.note(workflow, run, node_id, "resumed", reason, **details)
    target: str | None = node_id if branch == "again" else getattr(node, branch, None)
    ctx.set_run(run)
    advance(ctx, workflow, run, target)


def resume_kind(kind: str) -> str:
    return {"wait": "next", "timeout": "on_timeout", "quiet": "again"}.get(kind, "next")
