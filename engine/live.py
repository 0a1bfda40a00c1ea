"""What an incoming event does to the contact's live runs: archived workflows, exit criteria, goals,
timer wake-ups and wait_for matches, in that order, for each run."""

from __future__ import annotations

from engine.context import Run, StepContext
from engine.model import GoalNode, WaitForNode, Workflow
from engine.nodes.waits import event_matches
from engine.run_state import end_run, run_key_of
from engine.runs import resume, resume_kind


def exit_reason(ctx: StepContext, workflow: Workflow, run: Run) -> str | None:
    event_type = ctx.event["type"]
    for criterion in workflow.settings.exit_when:
        if criterion.condition is not None:
            if criterion.condition.evaluate(ctx.scope(run)):
                return f"exit criterion: {criterion.condition.source}"
        elif criterion.event_type == event_type and (
            criterion.filter is None or criterion.filter.evaluate(ctx.scope(run))
        ):
            return f"exit criterion: {event_type}"
    return None


def reached_goal(ctx: StepContext, workflow: Workflow, run: Run) -> GoalNode | None:
    for goal in workflow.goals:
        if goal.within_ms is not None and ctx.now - run["started_at"] > goal.within_ms:
            continue
        if event_matches(ctx, run, goal.event_type, goal.filter, goal.key):
            return goal
    return None


def _other_key(ctx: StepContext, workflow: Workflow, run: Run) -> bool:
    """A keyed run ignores events that carry another value of its key (another cart's purchase); events
    without the key reach every run of the workflow."""
    if workflow.settings.run_key is None:
        return False
    key = run_key_of(workflow, ctx.event["properties"])
    return key is not None and key != run.get("key")


def on_live_runs(ctx: StepContext, token: str | None) -> bool:
    """Apply the event to every live run; returns whether ``token`` (a timer.fired's) belonged to a run."""
    consumed = False
    event_type = ctx.event["type"]
    workflows = ctx.workflows
    for slot, run in list(ctx.runs.items()):
        if ctx.runs.get(slot) is not run:
            continue  # ended or replaced by another run's action in this step
        wait = run["wait"]
        mine = token is not None and wait is not None and wait["token"] == token
        consumed = consumed or mine
        workflow_id = run["workflow_id"]
        workflow = workflows.get(workflow_id, run["version"])
        if workflow is None:
            ctx.remove_run(slot, run["id"])
            ctx.note(
                None,
                run,
                run["node"],
                "exited",
                "its workflow version is no longer deployed",
                workflow_id=workflow_id,
                version=run["version"],
            )
            continue
        head = workflows.governing.get(workflow_id)
        if head is not None and head.status == "archived":
            end_run(ctx, workflow, run, "archived", run["node"])
            continue
        if not mine and event_type not in workflow.live_event_types and not workflow.has_condition_exit:
            continue
        if not mine and _other_key(ctx, workflow, run):
            continue
        reason = exit_reason(ctx, workflow, run)
        if reason is not None:
            end_run(ctx, workflow, run, reason, run["node"])
            continue
        goal = reached_goal(ctx, workflow, run)
        if goal is not None:
            end_run(ctx, workflow, run, f"goal {goal.id}: {event_type}", goal.id, "goal", goal=goal.id)
            continue
        if mine and wait is not None:
            if wait["due"] > ctx.now:
                ctx.note(
                    workflow,
                    run,
                    wait["node"],
                    "ignored",
                    "timer fired before its due time",
                    token=token,
                    due=wait["due"],
                )
                continue
            resume(ctx, workflow, run, resume_kind(wait["kind"]), f"timer: {wait['kind']}", token=token)
        elif wait is not None and wait["kind"] == "timeout":
            node = workflow.nodes.get(wait["node"])
            if isinstance(node, WaitForNode) and event_matches(
                ctx, run, node.event_type, node.filter, node.key
            ):
                resume(
                    ctx, workflow, run, "on_event", f"{event_type} arrived", event_id=ctx.event["event_id"]
                )
    return consumed
