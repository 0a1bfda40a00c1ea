"""wait and wait_for: park the run on a timer (kind "wait" or "timeout").

``until: best_send_time`` takes its hour from the ML worker's send-time hints (engine.hints).
"""

from __future__ import annotations

from typing import Any

from engine.context import Run, StepContext
from engine.durations import format_duration
from engine.hints import ranked_send_hours
from engine.model import WaitForNode, WaitNode, Workflow
from engine.run_state import Halt, Outcome, park
from engine.timecalc import (
    contact_zone,
    hour_of_week_label,
    next_hour_of_week,
    next_time_after,
    next_time_of_day,
    parse_date_value,
    time_of_day_label,
)


def resolve_path(ctx: StepContext, run: Run, path: str) -> Any:
    """The value at ``contact.<attr>``, ``event.<prop>`` or ``run.vars.<name>`` (None if missing)."""
    if path.startswith("contact."):
        return ctx.profile["attrs"].get(path[len("contact.") :])
    if path.startswith("event."):
        return ctx.event["properties"].get(path[len("event.") :])
    if path.startswith("run.vars."):
        return run["vars"].get(path[len("run.vars.") :])
    return None


def wait_due(ctx: StepContext, run: Run, node: WaitNode) -> tuple[int | None, str]:
    """When the wait ends (None: it cannot be computed) and a short description of why."""
    if node.duration_ms is not None:
        return ctx.now + node.duration_ms, f"for {format_duration(node.duration_ms)}"
    if node.until == "best_send_time":
        return best_send_time(ctx, node)
    tz = contact_zone(ctx.profile["attrs"])
    if node.until_date is not None:
        date = parse_date_value(resolve_path(ctx, run, node.until_date), tz)
        if date is None:
            return None, f"{node.until_date} is missing or not a date"
        return date + node.offset_ms, f"until {node.until_date}"
    due = next_time_of_day(ctx.now, node.until_time, node.days, tz)
    return due, f"until the next allowed time in {getattr(tz, 'key', 'UTC')}"


def best_send_time(ctx: StepContext, node: WaitNode) -> tuple[int, str]:
    """The first hinted hour (in rank order) whose next start is within ``within_ms`` of now, else the
    next local fallback time. Both are strictly after now, so the wait never ends at once."""
    tz = contact_zone(ctx.profile["attrs"])
    ranked = ranked_send_hours(ctx.state)
    for rank, hour in ranked:
        due = next_hour_of_week(ctx.now, hour, tz)
        if due - ctx.now <= node.within_ms:
            return due, f"until best send time {hour_of_week_label(hour)} (rank {rank})"
    why = f"no hinted hour within {format_duration(node.within_ms)}" if ranked else "no send-time hints"
    due = next_time_after(ctx.now, node.fallback_time, tz)
    return due, f"until fallback {time_of_day_label(node.fallback_time)}: {why}"


def run_wait(ctx: StepContext, workflow: Workflow, run: Run, node: WaitNode) -> Outcome:
    due, why = wait_due(ctx, run, node)
    if due is None or due <= ctx.now:
        reason = why if due is None else f"{why}: already due"
        ctx.note(workflow, run, node.id, "waited", reason, due=due, continued=True)
        return node.next
    park(ctx, workflow, run, node.id, due, "wait")
    ctx.note(workflow, run, node.id, "waited", why, due=due, token=run["wait"]["token"])
    return Halt.PARKED


def run_wait_for(ctx: StepContext, workflow: Workflow, run: Run, node: WaitForNode) -> Outcome:
    due = ctx.now + node.timeout_ms
    park(ctx, workflow, run, node.id, due, "timeout")
    reason = f"for {node.event_type} (timeout {format_duration(node.timeout_ms)})"
    ctx.note(workflow, run, node.id, "waited", reason, due=due, token=run["wait"]["token"])
    return Halt.PARKED


def event_matches(ctx: StepContext, run: Run, event_type: str | None, filter_: Any, key: str | None) -> bool:
    """Does the current event satisfy a wait_for/goal: its type, its key against run.vars, its filter."""
    event = ctx.event
    if event["type"] != event_type:
        return False
    if key is not None:
        expected = run["vars"].get(key)
        if expected is not None and event["properties"].get(key) != expected:
            return False
    return filter_ is None or bool(filter_.evaluate(ctx.scope(run)))
