"""Simulate and backtest: run a draft definition offline over events, nothing sent anywhere.

- simulate: scripted events for sample contacts (times relative to a start), timers fired up to a horizon;
- backtest: recorded events (already Events), timers fired up to "now" as the caller gives it.
Both return the actions, the timers requested, each contact's trace and where its runs stand, and counts
per node. Pure: the caller passes every time.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from agents.api.exceptions import ApiError
from agents.api.issues_view import issues_json
from engine.durations import DurationError, parse_duration
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


def scripted_events(script: Any, start: int) -> tuple[list[Event], int]:
    """Events from {"contacts": [{"contact_id", "events": [{"type", "after"|"ts", "properties"}]}],
    "horizon": "30d"}: `after` is a duration from `start`; returns the events and the time to run until."""
    if not isinstance(script, dict) or not isinstance(script.get("contacts"), list) or not script["contacts"]:
        raise ApiError(400, "bad_script", "`contacts` must be a non-empty list of {contact_id, events}")
    events: list[Event] = []
    for c_index, contact in enumerate(script["contacts"]):
        contact_id = contact.get("contact_id") if isinstance(contact, dict) else None
        scripted = contact.get("events") if isinstance(contact, dict) else None
        if not isinstance(contact_id, str) or not contact_id or not isinstance(scripted, list):
            raise ApiError(400, "bad_script", f"contacts[{c_index}] needs a contact_id and a list of events")
        for e_index, item in enumerate(scripted):
            where = f"contacts[{c_index}].events[{e_index}]"
            events.append(_scripted_event(item, contact_id, start, f"sim-{contact_id}-{e_index}", where))
    last = max(event["ts"] for event in events) if events else start
    try:
        horizon = parse_duration(script.get("horizon", DEFAULT_HORIZON))
    except DurationError as exc:
        raise ApiError(400, "bad_script", f"horizon: {exc}") from None
    return events, max(last, start + horizon)


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


def run_trial(workflows: WorkflowSet, events: list[Event], until: int) -> dict[str, Any]:
    """Every contact through the workflows (recorded wake-ups left out: the trial fires its own)."""
    played = [event for event in events if event["type"] != TIMER_EVENT]
    try:
        runs = simulate_contacts(played, workflows, until)
    except EngineError as exc:
        raise ApiError(422, "engine_error", str(exc)) from None
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
