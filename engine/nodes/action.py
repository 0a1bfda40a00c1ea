"""action: emit an external action (after quiet hours and caps) or apply an internal one.

send_best first picks its channel (engine.nodes.channel_choice) and then behaves exactly like the send
action of that channel: same quiet hours, caps, rendering, recipient and action id. A send_email with
variants first picks its message (engine.nodes.variant_choice) and then sends it the same way.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any, NamedTuple

from engine import ids
from engine.actions import RECIPIENT_ATTRIBUTES, SEND_ACTIONS
from engine.consent import TRANSACTIONAL
from engine.consent import refusal as consent_refusal
from engine.context import Run, StepContext
from engine.durations import DurationError, format_duration, parse_duration
from engine.guards import cap_reached, quiet_until
from engine.model import ActionNode, Workflow
from engine.nodes.channel_choice import ChannelChoice, choose_channel
from engine.nodes.internal import apply_internal
from engine.nodes.variant_choice import VariantChoice, choose_variant
from engine.run_state import Halt, Outcome, end_run, park
from engine.templates import TemplateError, profile_snapshot, render_params, template_context

POLICY = " (workspace policy)"  # trace suffix of a rule that comes from the policy, not the workflow


class Send(NamedTuple):
    """What an external action node sends this time: its own action, or send_best's chosen one."""

    action: str
    channel: str
    params: dict[str, Any]  # before rendering
    choice: ChannelChoice | None = None
    variant: VariantChoice | None = None


def render(ctx: StepContext, run: Run, node: ActionNode) -> tuple[dict[str, Any] | None, str | None]:
    """Rendered params (a fresh dict), or None and the error when a template fails at step time."""
    return render_with(ctx, run, node.params, node.templated)


def render_with(
    ctx: StepContext, run: Run, params: dict[str, Any], templated: bool
) -> tuple[dict[str, Any] | None, str | None]:
    if not templated:
        return dict(params), None
    context = template_context(ctx.profile, ctx.event, run, ctx.now, ctx.contact_id)
    try:
        rendered = render_params(params, context)
    except TemplateError as err:
        return None, str(err)
    return (rendered if isinstance(rendered, dict) else dict(params)), None


def run_action(ctx: StepContext, workflow: Workflow, run: Run, node: ActionNode) -> Outcome:
    settings = workflow.settings
    if ctx.action_count >= settings.max_actions_per_event:
        ctx.note(workflow, run, node.id, "skipped", "action limit reached", action=node.action)
        return end_run(ctx, workflow, run, "action_limit", limit=settings.max_actions_per_event)
    if node.choices:
        choice = choose_channel(ctx, node)
        message = node.params["messages"][choice.channel]
        chosen = Send(SEND_ACTIONS[choice.channel], choice.channel, message, choice)
        return send(ctx, workflow, run, node, chosen)
    if node.channel is None:
        ctx.action_count += 1
        return apply_internal(ctx, workflow, run, node)
    if node.variants:
        picked = choose_variant(ctx.profile, node.params, node.variants, ctx.now)
        return send(ctx, workflow, run, node, Send(node.action, node.channel, picked.params, variant=picked))
    return send(ctx, workflow, run, node, Send(node.action, node.channel, node.params))


def send(ctx: StepContext, workflow: Workflow, run: Run, node: ActionNode, what: Send) -> Outcome:
    settings = workflow.settings
    # Trace details naming what was sent and, for send_best or variants, how it was chosen.
    about: dict[str, Any] = {"action": what.action}
    why: str | None = None
    if what.choice is not None:
        about["chosen_by"] = what.choice.chosen_by
        why = what.choice.reason
    if what.variant is not None:
        about["variant"] = what.variant.variant
        about["affinity"] = round(what.variant.affinity, 4)
        why = what.variant.reason
    prefix = f"{node.action}: {why}; " if why else ""
    refused = consent_refusal(ctx.state, what.channel, {**node.params, **what.params})
    if refused is not None:
        ctx.note(workflow, run, node.id, "suppressed", f"{prefix}{refused}", **about)
        return node.next
    marketing = {**node.params, **what.params}.get("category") != TRANSACTIONAL
    policy = ctx.workflows.policy
    for quiet, source in ((settings.quiet_hours, ""), (policy.quiet_hours if marketing else None, POLICY)):
        due = quiet_until(ctx, quiet, what.channel)
        if due is None or quiet is None:
            continue
        if quiet.fallback == "skip":
            ctx.note(workflow, run, node.id, "skipped", f"{prefix}quiet hours{source}", **about)
            return node.next
        park(ctx, workflow, run, node.id, due, "quiet")
        reason = f"{prefix}quiet hours{source}: delayed until they end"
        ctx.note(workflow, run, node.id, "waited", reason, due=due, **about, token=run["wait"]["token"])
        return Halt.PARKED
    for caps, source in ((settings.frequency_caps, ""), (policy.frequency_caps if marketing else (), POLICY)):
        cap = cap_reached(ctx, caps, what.channel)
        if cap is not None:
            limit = f"{cap.max} {what.channel} per {format_duration(cap.per_ms)}"
            ctx.note(workflow, run, node.id, "capped", f"{prefix}frequency cap{source}: {limit}", **about)
            return node.next
    params, error = render_with(ctx, run, what.params, node.templated)
    if params is None:
        ctx.note(workflow, run, node.id, "skipped", f"{prefix}template failed: {error}", **about)
        return node.next
    recipient = RECIPIENT_ATTRIBUTES.get(what.channel)
    if recipient and "to" not in params and ctx.profile["attrs"].get(recipient):
        params["to"] = ctx.profile["attrs"][recipient]  # else the sink reports the missing address
    if what.action == "create_task" and "due" in params:
        with suppress(DurationError):  # validated at load time; a rendered template may still be bad
            params["due_at"] = ctx.now + parse_duration(params["due"])
    if what.choice is not None:
        params["chosen_by"] = what.choice.chosen_by
    if what.variant is not None:
        params["variant"] = what.variant.variant
    visit = run["visits"].get(node.id, 1)
    action_id = ids.action_id(workflow.id, workflow.version, run["id"], node.id, visit)
    action = {
        "action_id": action_id,
        "channel": what.channel,
        "type": what.action,
        "contact_id": ctx.contact_id,
        "workflow_id": workflow.id,
        "version": workflow.version,
        "run_id": run["id"],
        "node_id": node.id,
        "ts": ctx.now,
        "params": params,
    }
    if "template" in params:  # the sink renders a template file: it sees the contact as of this step
        action["profile"] = profile_snapshot(ctx.profile)
    ctx.actions.append(action)
    ctx.action_count += 1
    ctx.record_send(what.channel)
    reason = f"{node.action}: {why}" if why else node.action
    ctx.note(workflow, run, node.id, "acted", reason, **about, action_id=action_id, channel=what.channel)
    return node.next
