"""action: emit an external action (after quiet hours and caps) or apply an internal one."""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from engine import ids
from engine.actions import RECIPIENT_ATTRIBUTES
from engine.context import Run, StepContext
from engine.durations import DurationError, format_duration, parse_duration
from engine.guards import cap_reached, quiet_until
from engine.model import ActionNode, Workflow
from engine.nodes.internal import apply_internal
from engine.run_state import Halt, Outcome, end_run, park
from engine.templates import TemplateError, render_params, template_context


def render(ctx: StepContext, run: Run, node: ActionNode) -> tuple[dict[str, Any] | None, str | None]:
    """Rendered params (a fresh dict), or None and the error when a template fails at step time."""
    if not node.templated:
        return dict(node.params), None
    context = template_context(ctx.profile, ctx.event, run, ctx.now, ctx.contact_id)
    try:
        rendered = render_params(node.params, context)
    except TemplateError as err:
        return None, str(err)
    return (rendered if isinstance(rendered, dict) else dict(node.params)), None


def run_action(ctx: StepContext, workflow: Workflow, run: Run, node: ActionNode) -> Outcome:
    settings = workflow.settings
    if ctx.action_count >= settings.max_actions_per_event:
        ctx.note(workflow, run, node.id, "skipped", "action limit reached", action=node.action)
        return end_run(ctx, workflow, run, "action_limit", limit=settings.max_actions_per_event)
    if node.channel is None:
        ctx.action_count += 1
        return apply_internal(ctx, workflow, run, node)
    due = quiet_until(ctx, settings.quiet_hours, node.channel)
    if due is not None and settings.quiet_hours is not None:
        if settings.quiet_hours.fallback == "skip":
            ctx.note(workflow, run, node.id, "skipped", "quiet hours", action=node.action)
            return node.next
        park(ctx, workflow, run, node.id, due, "quiet")
        ctx.note(
            workflow,
            run,
            node.id,
            "waited",
            "quiet hours: delayed until they end",
            due=due,
            action=node.action,
            token=run["wait"]["token"],
        )
        return Halt.PARKED
    cap = cap_reached(ctx, settings.frequency_caps, node.channel)
    if cap is not None:
        ctx.note(
            workflow,
            run,
            node.id,
            "capped",
            f"frequency cap: {cap.max} {node.channel} per {format_duration(cap.per_ms)}",
            action=node.action,
        )
        return node.next
    params, error = render(ctx, run, node)
    if params is None:
        ctx.note(workflow, run, node.id, "skipped", f"template failed: {error}", action=node.action)
        return node.next
    recipient = RECIPIENT_ATTRIBUTES.get(node.channel)
    if recipient and "to" not in params and ctx.profile["attrs"].get(recipient):
        params["to"] = ctx.profile["attrs"][recipient]  # else the sink reports the missing address
    if node.action == "create_task" and "due" in params:
        with suppress(DurationError):  # validated at load time; a rendered template may still be bad
            params["due_at"] = ctx.now + parse_duration(params["due"])
    visit = run["visits"].get(node.id, 1)
    action_id = ids.action_id(workflow.id, workflow.version, run["id"], node.id, visit)
    ctx.actions.append(
        {
            "action_id": action_id,
            "channel": node.channel,
            "type": node.action,
            "contact_id": ctx.contact_id,
            "workflow_id": workflow.id,
            "version": workflow.version,
            "run_id": run["id"],
            "node_id": node.id,
            "ts": ctx.now,
            "params": params,
        }
    )
    ctx.action_count += 1
    ctx.record_send(node.channel)
    ctx.note(
        workflow,
        run,
        node.id,
        "acted",
        node.action,
        action=node.action,
        action_id=action_id,
        channel=node.channel,
    )
    return node.next
