"""step(): one event in, the contact's new state, actions, timer requests and trace out.

Pure and deterministic: ``now`` is the event time, ids are hashes, the input state is never mutated.
Most events match nothing; they cost one profile fold and a few dict lookups (the fast path below).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from engine.consent import CONSENT_EVENT_TYPES
from engine.consent import record as record_consent
from engine.context import StepContext
from engine.dedupe import event_key, is_duplicate, remember
from engine.hints import HINTS_KEY
from engine.live import on_live_runs
from engine.profile import apply_event
from engine.triggers import arm_missing, fire_armed, on_trigger_events, watch_profile
from engine.types import STATE_VERSION, ContactState, Event
from engine.windowed_counts import fold as count_event
from engine.workflows import WorkflowSet

TIMER_EVENT = "timer.fired"


class StepResult(NamedTuple):
    state: ContactState
    actions: list[dict[str, Any]]
    timers: list[dict[str, Any]]
    trace: list[dict[str, Any]]
    duplicate: bool = False  # the event id was applied before (engine.dedupe): nothing changed


def step(
    state: ContactState | None,
    event: Event,
    workflows: WorkflowSet,
    now: int,
    hints: dict[str, Any] | None = None,
) -> StepResult:
    """Apply ``event`` (at event time ``now``) to ``state`` under ``workflows``. ``hints``, when given,
    become the state's ML hints (engine.hints) before any node reads them: the worker passes them for a
    contact that has none yet (its first event), which would otherwise wait until the fixed fallback."""
    key = event_key(event)
    if is_duplicate(state, key):
        assert state is not None
        return StepResult({**state}, [], [], [_duplicate_note(event, now)], duplicate=True)
    if state is None:
        before = None
        profile = apply_event(None, event)
        new_state: ContactState = {
            "v": STATE_VERSION,
            "contact_id": event["contact_id"],
            "profile": profile,
            "offset": -1,
        }
    else:
        before = state["profile"]
        profile = apply_event(before, event)
        new_state = {**state, "profile": profile}
    if hints is not None:
        new_state[HINTS_KEY] = hints
    remember(new_state, key)
    event_type = event["type"]
    if event_type in workflows.count_windows:
        count_event(new_state, event_type, now, workflows.count_windows)
    if event_type in CONSENT_EVENT_TYPES:
        record_consent(new_state, event)
    if (
        event_type != TIMER_EVENT
        and not new_state.get("runs")
        and (event_type not in workflows.event_types or _only_rearms_armed(new_state, workflows, event_type))
        and new_state.get("armed_fp") == workflows.arm_fingerprint
        and (
            not workflows.watches_profile
            or (
                before is not None
                and profile["attrs"] is before["attrs"]
                and profile["tags"] is before["tags"]
                and profile["scores"] is before["scores"]
                and event_type not in workflows.condition_counted
                and (not workflows.watches_affinity or profile.get("affinity") is before.get("affinity"))
            )
        )
    ):
        return StepResult(new_state, [], [], [])
    ctx = StepContext(new_state, event, workflows, now, before)
    if event_type == TIMER_EVENT:
        token = event["properties"].get("token")
        token = token if isinstance(token, str) else None
        consumed = on_live_runs(ctx, token)
        if not consumed and not (token is not None and fire_armed(ctx, token)):
            ctx.note(None, None, None, "ignored", "stale or unknown timer token", token=token)
    else:
        if ctx.runs:
            on_live_runs(ctx, None)
        on_trigger_events(ctx)
    if new_state.get("armed_fp") != workflows.arm_fingerprint:
        arm_missing(ctx)
    if workflows.watches_profile:
        watch_profile(ctx)
    return StepResult(ctx.state, ctx.actions, ctx.timers, ctx.trace)


_NOTHING: dict[str, Any] = {}


def _duplicate_note(event: Event, now: int) -> dict[str, Any]:
    return {"ts": now, "contact_id": event["contact_id"], "workflow_id": None, "version": None,
            "run_id": None, "node_id": None, "transition": "ignored", "reason": "duplicate"}  # fmt: skip


def _only_rearms_armed(state: ContactState, workflows: WorkflowSet, event_type: str) -> bool:
    """True when the event type only re-arms inactivity timers and all of them are armed already."""
    slots = workflows.inactivity_slots.get(event_type)
    if slots is None:
        return False
    armed = state.get("armed") or _NOTHING
    return all((armed.get(slot) or _NOTHING).get("token") for slot in slots)
