"""Triggers at step time: start runs on matching events, and keep the per-contact trigger timers
(schedule, one-off, date, inactivity) armed, re-armed, disarmed and fired.

Armed trigger timers live in ``state["armed"][slot]`` as
``{"token", "due", "workflow_id", "version", "index", "kind", "vars"?}``; after firing, a slot keeps
``{"fired": due}`` so it is not armed again until its cause changes. A slot is
``<workflow>@<version>#<trigger index>`` plus ``/<key value>`` for keyed date triggers.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Any

from engine import ids
from engine.context import StepContext
from engine.cron import next_occurrence, parse_cron
from engine.model import (
    ConditionTrigger,
    DateTrigger,
    EventTrigger,
    InactivityTrigger,
    ScheduleTrigger,
    ScoreTrigger,
    Trigger,
    Workflow,
)
from engine.run_state import scalar_properties
from engine.runs import start_run
from engine.timecalc import contact_zone, parse_date_value, zone

TIMER_KINDS = {"schedule": "schedule", "date": "date", "inactivity": "inactivity"}
EMPTY_RECORD: dict[str, Any] = {}


def slot_of(workflow: Workflow, index: int, key: Any = None) -> str:
    base = f"{workflow.id}@{workflow.version}#{index}"
    return base if key is None else f"{base}/{key}"


# -------------------------------------------------------------------------------------------- events


def on_trigger_events(ctx: StepContext) -> None:
    """Start runs for triggers indexed under the event's type; re-arm or disarm timed triggers."""
    event = ctx.event
    event_type = event["type"]
    workflows = ctx.workflows
    for workflow, index, trigger in workflows.starters.get(event_type, ()):
        if isinstance(trigger, ScoreTrigger) and not _crossed(ctx, trigger):
            continue
        if isinstance(trigger, (EventTrigger, ScoreTrigger)):
            if trigger.filter is not None and not trigger.filter.evaluate(ctx.scope()):
                continue
            if (
                isinstance(trigger, EventTrigger)
                and trigger.times > 1
                and not _completes_window(ctx, slot_of(workflow, index), trigger)
            ):
                continue
            variables = scalar_properties(event["properties"])
            start_run(ctx, workflow, event["event_id"], variables, f"trigger {index}: {event_type}")
    for workflow, index, trigger in workflows.rearmers.get(event_type, ()):
        if isinstance(trigger, InactivityTrigger):
            # Lazy re-arm: an armed timer stays; when it fires, newer activity moves it (see fire_armed).
            slot = slot_of(workflow, index)
            if not ctx.armed.get(slot, EMPTY_RECORD).get("token"):
                arm(
                    ctx,
                    workflow,
                    index,
                    slot,
                    ctx.now + trigger.duration_ms,
                    event["event_id"],
                    "inactivity",
                    "activity after a quiet spell: inactivity armed again",
                )
        elif isinstance(trigger, DateTrigger):
            _event_date(ctx, workflow, index, trigger)


def _completes_window(ctx: StepContext, slot: str, trigger: EventTrigger) -> bool:
    """Note this matching event; True when it is one of `times` matching events less than `within` apart.
    The kept times stay sorted, so a late event counts with its neighbours on either side. Only the last
    `times` are kept, so the record is bounded by the trigger itself; an event older than all of them can
    only complete a window with the kept ones after it."""
    hits = sorted(ctx.window_hits(slot))  # states written before this kept a late event's time unsorted
    at = bisect_right(hits, ctx.now)
    hits = [*hits[:at], ctx.now, *hits[at:]]
    times = trigger.times
    completes = any(
        hits[first + times - 1] - hits[first] < trigger.within_ms
        for first in range(max(0, at - times + 1), min(at, len(hits) - times) + 1)
    )
    ctx.set_window_hits(slot, hits[-times:])
    return completes


def _crossed(ctx: StepContext, trigger: ScoreTrigger) -> bool:
    score = ctx.event["properties"].get("score")
    if isinstance(score, bool) or not isinstance(score, (int, float)):
        return False
    before = ctx.input_profile["scores"].get(trigger.name) if ctx.input_profile is not None else None
    return score >= trigger.threshold and (before is None or before < trigger.threshold)


def _event_date(ctx: StepContext, workflow: Workflow, index: int, trigger: DateTrigger) -> None:
    properties = ctx.event["properties"]
    key_value = properties.get(trigger.key) if trigger.key else None
    if trigger.key and key_value is None:
        return
    slot = slot_of(workflow, index, key_value)
    event_type = ctx.event["type"]
    if event_type in trigger.cancel_on:
        if slot in ctx.armed:
            ctx.set_armed(slot, None)
            ctx.note(workflow, None, None, "disarmed", f"{event_type}: date trigger cancelled", slot=slot)
        return
    if event_type not in trigger.event_types:
        return
    date = parse_date_value(properties.get(trigger.field_name), contact_zone(ctx.profile["attrs"]))
    if date is None:
        return
    if trigger.filter is not None and not trigger.filter.evaluate(ctx.scope()):
        return
    due = date + trigger.offset_ms
    if due <= ctx.now:
        if slot in ctx.armed:
            ctx.set_armed(slot, None)
        ctx.note(
            workflow,
            None,
            None,
            "skipped",
            f"{trigger.path} minus offset is already past",
            slot=slot,
            due=due,
        )
        return
    arm(
        ctx,
        workflow,
        index,
        slot,
        due,
        ctx.event["event_id"],
        "date",
        f"{trigger.path} set",
        scalar_properties(properties),
    )


# -------------------------------------------------------------------------------------------- timers


def arm(
    ctx: StepContext,
    workflow: Workflow,
    index: int,
    slot: str,
    due: int,
    cause: str,
    kind: str,
    reason: str,
    variables: dict[str, Any] | None = None,
) -> None:
    current = ctx.armed.get(slot)
    if current is not None and current.get("due") == due and current.get("token"):
        return
    token = ids.trigger_timer_token(ctx.contact_id, slot, due, cause)
    record: dict[str, Any] = {
        "token": token,
        "due": due,
        "workflow_id": workflow.id,
        "version": workflow.version,
        "index": index,
        "kind": kind,
    }
    if variables:
        record["vars"] = variables
    ctx.set_armed(slot, record)
    ctx.request_timer(due, token, workflow.id, None, None, kind)
    ctx.note(workflow, None, None, "armed", reason, slot=slot, due=due, token=token, kind=kind)


def _first_due(ctx: StepContext, trigger: Trigger) -> int | None:
    if isinstance(trigger, ScheduleTrigger):
        if trigger.at is not None:
            return trigger.at if trigger.at > ctx.now else None
        assert trigger.cron is not None
        tz = contact_zone(ctx.profile["attrs"]) if trigger.timezone == "contact" else zone(trigger.timezone)
        return next_occurrence(parse_cron_cached(trigger.cron), ctx.now, tz)
    if isinstance(trigger, InactivityTrigger):
        last = max((ctx.profile["last_by_type"].get(t, 0) for t in trigger.event_types), default=0)
        return max((last or ctx.now) + trigger.duration_ms, ctx.now)
    if isinstance(trigger, DateTrigger) and trigger.source == "contact":
        date = parse_date_value(
            ctx.profile["attrs"].get(trigger.field_name), contact_zone(ctx.profile["attrs"])
        )
        if date is None or date + trigger.offset_ms <= ctx.now:
            return None
        return date + trigger.offset_ms
    return None


_CRONS: dict[str, Any] = {}


def parse_cron_cached(source: str) -> Any:
    found = _CRONS.get(source)
    if found is None:
        found = _CRONS[source] = parse_cron(source)
    return found


def arm_missing(ctx: StepContext) -> None:
    """Arm every timed trigger this contact has no slot for (first sight, or the set of triggers changed)."""
    for workflow, index, trigger in ctx.workflows.timed:
        slot = slot_of(workflow, index)
        if slot in ctx.armed:
            continue
        due = _first_due(ctx, trigger)
        if due is not None:
            arm(
                ctx,
                workflow,
                index,
                slot,
                due,
                ctx.event["event_id"],
                TIMER_KINDS[trigger.kind],
                "armed on first sight",
            )
    ctx.set_value("armed_fp", ctx.workflows.arm_fingerprint)


def fire_armed(ctx: StepContext, token: str) -> bool:
    """Handle a trigger timer; False when no slot holds ``token``."""
    found = next(((s, r) for s, r in ctx.armed.items() if r.get("token") == token), None)
    if found is None:
        return False
    slot, record = found
    workflow_id = record["workflow_id"]
    if record["due"] > ctx.now:
        ctx.note(
            None,
            None,
            None,
            "ignored",
            "timer fired before its due time",
            workflow_id=workflow_id,
            token=token,
        )
        return True
    head = ctx.workflows.entry.get(workflow_id)
    if head is None or head.version != record["version"] or record["index"] >= len(head.triggers):
        ctx.set_armed(slot, None)
        ctx.note(
            None,
            None,
            None,
            "ignored",
            "trigger timer of a workflow version that no longer takes entries",
            workflow_id=workflow_id,
            version=record["version"],
            token=token,
        )
        return True
    trigger = head.triggers[record["index"]]
    if isinstance(trigger, InactivityTrigger):
        last = max((ctx.profile["last_by_type"].get(t, 0) for t in trigger.event_types), default=0)
        quiet_until = last + trigger.duration_ms
        if last and quiet_until > ctx.now:  # activity since it was armed: not quiet long enough yet
            arm(ctx, head, record["index"], slot, quiet_until, token, "inactivity", "activity since: moved")
            return True
    ctx.set_armed(slot, None if "/" in slot else {"fired": record["due"]})
    if isinstance(trigger, ScheduleTrigger) and trigger.cron is not None:
        due = _first_due(ctx, trigger)
        if due is not None:
            arm(ctx, head, record["index"], slot, due, token, "schedule", "next occurrence")
    check = getattr(trigger, "filter", None)
    checked_when_armed = isinstance(trigger, DateTrigger) and trigger.source == "event"
    if check is not None and not checked_when_armed and not check.evaluate(ctx.scope()):
        ctx.note(head, None, None, "skipped", f"{record['kind']} trigger: filter is false", token=token)
        return True
    start_run(ctx, head, token, dict(record.get("vars") or {}), f"{record['kind']} trigger {record['index']}")
    return True


# ------------------------------------------------------------------------------------------- profile


def watch_profile(ctx: StepContext) -> None:
    """Re-arm contact date triggers and evaluate condition triggers when attrs/tags/scores (or, for
    conditions reading it, the content affinity) changed, or when an event they count in a window
    (count('page.viewed', '7d')) arrived."""
    before = ctx.input_profile
    profile = ctx.profile
    attrs_changed = before is None or profile["attrs"] is not before["attrs"]
    if attrs_changed:
        old_attrs = before["attrs"] if before is not None else {}
        for workflow, index, trigger in ctx.workflows.contact_dates:
            assert isinstance(trigger, DateTrigger)
            name = trigger.field_name
            if old_attrs.get(name) == profile["attrs"].get(name):
                continue
            slot = slot_of(workflow, index)
            due = _first_due(ctx, trigger)
            if due is None:
                if slot in ctx.armed:
                    ctx.set_armed(slot, None)
                    ctx.note(workflow, None, None, "disarmed", f"{trigger.path} unset or past", slot=slot)
                continue
            arm(ctx, workflow, index, slot, due, ctx.event["event_id"], "date", f"{trigger.path} changed")
    if not ctx.workflows.conditions:
        return
    profile_changed = before is None or (
        attrs_changed
        or profile["tags"] is not before["tags"]
        or profile["scores"] is not before["scores"]
        or (ctx.workflows.watches_affinity and profile.get("affinity") is not before.get("affinity"))
    )
    event_type = ctx.event["type"]
    if not profile_changed and event_type not in ctx.workflows.condition_counted:
        return
    conds = ctx.conds()
    for workflow, index, trigger in ctx.workflows.conditions:
        assert isinstance(trigger, ConditionTrigger)
        if not profile_changed and all(counted != event_type for counted, _ in trigger.condition.windows):
            continue
        key = f"{workflow.id}#{index}"
        was = conds.get(key, False)
        now_true = bool(trigger.condition.evaluate(ctx.scope()))
        if now_true == was:
            continue
        ctx.set_cond(key, now_true)
        if now_true:
            start_run(
                ctx,
                workflow,
                f"{ctx.event['event_id']}#cond{index}",
                {},
                f"condition became true: {trigger.condition.source}",
            )
