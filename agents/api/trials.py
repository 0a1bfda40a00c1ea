"""Simulate and backtest: run a draft definition offline over events, nothing sent anywhere.

- simulate: scripted events for sample contacts (times relative to a start), timers fired up to a horizon;
- backtest: recorded events (already Events), timers fired up to "now" as the caller gives it.
Both return the actions, the timers requested, each contact's trace and where its runs stand, and counts
per node. Event time comes from the caller (only the wall-time cap reads a clock). The API runs them in a
child process (agents/api/trial_runner.py), within TrialLimits.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from agents.api.config import TrialLimits
from agents.api.exceptions import ApiError
from agents.api.issues_view import issues_json
from engine.durations import DAY, DurationError, parse_duration
from engine.events import parse_ts
from engine.exceptions import EngineError, WorkflowInvalid
from engine.simulate import ContactRun, simulate_contacts
from engine.step import TIMER_EVENT
from engine.types import Event
from engine.validation import compile_definition
from engine.workflows import WorkflowSet

DEFAULT_HORIZON = "30d"


def trial_workflows(definition: dict[str, Any]) -> WorkflowSet:
    """The definition compiled as if published (a draft never governs), alone in its set."""
    try:
        return WorkflowSet([compile_definition({**definition, "status": "published"}, "<draft>")])
    except WorkflowInvalid as exc:
        raise ApiError(
            422, "invalid_definition", "the definition does not validate", issues_json(exc.issues)
        ) from None


def scripted_events(script: Any, start: int, limits: TrialLimits | None = None) -> tuple[list[Event], int]:
    """Events from {"contacts": [{"contact_id", "events": [{"type", "after"|"ts", "properties"}]}],
    "horizon": "30d"}: `after` is a duration from `start`; returns the events and the time to run until.
    A horizon, a contact count or an event count over `limits` is refused (400) before any work."""
    limits = limits or TrialLimits()
    if not isinstance(script, dict) or not isinstance(script.get("contacts"), list) or not script["contacts"]:
        raise ApiError(400, "bad_script", "`contacts` must be a non-empty list of {contact_id, events}")
    if len(script["contacts"]) > limits.max_contacts:
        raise limit_error(400, "max_contacts", limits.max_contacts, f"{len(script['contacts'])} contacts")
    try:
        horizon = parse_duration(script.get("horizon", DEFAULT_HORIZON))
    except DurationError as exc:
        raise ApiError(400, "bad_script", f"horizon: {exc}") from None
    if horizon > limits.max_horizon_ms:
        allowed = f"{limits.max_horizon_ms} ({limits.max_horizon_ms / DAY:g} days)"
        raise limit_error(400, "max_horizon_ms", allowed, f"a horizon of {horizon / DAY:g} days")
    events: list[Event] = []
    for c_index, contact in enumerate(script["contacts"]):
        contact_id = contact.get("contact_id") if isinstance(contact, dict) else None
        scripted = contact.get("events") if isinstance(contact, dict) else None
        if not isinstance(contact_id, str) or not contact_id or not isinstance(scripted, list):
            raise ApiError(400, "bad_script", f"contacts[{c_index}] needs a contact_id and a list of events")
        if len(events) + len(scripted) > limits.max_events:
            raise limit_error(400, "max_events", limits.max_events, "more events")
        for e_index, item in enumerate(scripted):
            where = f"contacts[{c_index}].events[{e_index}]"
            events.append(_scripted_event(item, contact_id, start, f"sim-{contact_id}-{e_index}", where))
    last = max(event["ts"] for event in events) if events else start
    if last - start > limits.max_horizon_ms:
        raise limit_error(400, "max_horizon_ms", limits.max_horizon_ms, "an event after the horizon limit")
    return events, max(last, start + horizon)


def limit_error(status: int, name: str, value: object, what: str) -> ApiError:
    """A trial over one of its caps: 400 when refused up front, 422 when stopped while running."""
    return ApiError(status, "trial_limit", f"{what}: over the trial limit {name}={value}", {"limit": name})


def _scripted_event(item: Any, contact_id: str, start: int, event_id: str, where: str) -> Event:
    if not isinstance(item, dict) or not isinstance(item.get("type"), str):
        raise ApiError(400, "bad_script", f"{where} needs a `type`")
    properties = item.get("properties", {})
    if not isinstance(properties, dict):
        raise ApiError(400, "bad_script", f"{where}.properties must be an object")
    if "ts" in item:
        ts = parse_ts(item["ts"])
        if not isinstance(ts, int):
            raise ApiError(400, "bad_script", f"{where}.ts: {ts.detail}")
    else:
        try:
            ts = start + parse_duration(item.get("after", 0))
        except DurationError as exc:
            raise ApiError(400, "bad_script", f"{where}.after: {exc}") from None
    return {"event_id": event_id, "contact_id": contact_id, "type": item["type"], "ts": ts,
            "properties": properties}  # fmt: skip


def run_trial_capped(workflows: WorkflowSet, events: list[Event], until: int, limits: TrialLimits,
                     started: float) -> dict[str, Any]:  # fmt: skip
    """Every contact through the workflows (recorded wake-ups left out: the trial fires its own), one
    contact at a time, stopping with a 422 once the steps (events and wake-ups fed to
    the engine), the actions or the wall time so far are over their caps."""
    played = [event for event in events if event["type"] != TIMER_EVENT]
    by_contact: dict[str, list[Event]] = {}
    for event in played:
        by_contact.setdefault(event["contact_id"], []).append(event)
    runs: list[ContactRun] = []
    steps = actions = 0
    for contact in sorted(by_contact):
        try:
            runs.extend(simulate_contacts(by_contact[contact], workflows, until))
        except EngineError as exc:
            raise ApiError(422, "engine_error", str(exc)) from None
        steps += len(runs[-1].delivered)
        actions += len(runs[-1].actions)
        if steps > limits.max_steps:
            raise limit_error(422, "max_steps", limits.max_steps, f"{steps} engine steps")
        if actions > limits.max_actions:
            raise limit_error(422, "max_actions", limits.max_actions, f"{actions} actions")
        if time.monotonic() - started > limits.wall_time_s:
            raise limit_error(422, "wall_time_s", limits.wall_time_s, "the trial's running time")
    return {
        "until": until,
        "events": len(played),
        "contacts": [_contact_result(run) for run in runs],
        "actions": [action for run in runs for action in run.actions],
        "node_counts": node_counts(run.trace for run in runs),
    }


def _contact_result(run: ContactRun) -> dict[str, Any]:
    live = (run.state or {}).get("runs") or {}
    return {
        "contact_id": run.contact_id,
        "actions": run.actions,
        "timers": run.timers,
        "trace": run.trace,
        "live_runs": [
            {"workflow_id": wid, "version": r.get("version"), "run_id": r.get("id"), "node": r.get("node")}
            for wid, r in sorted(live.items())
        ],
    }


def node_counts(traces: Any) -> dict[str, dict[str, int]]:
    """{node_id: {transition: count}} over trace entries (the run's entry is counted under "(entry)")."""
    counts: dict[str, Counter[str]] = {}
    for trace in traces:
        for entry in trace:
            node = entry.get("node_id") or "(entry)"
            counts.setdefault(str(node), Counter())[str(entry.get("transition"))] += 1
    return {node: dict(sorted(c.items())) for node, c in sorted(counts.items())}
