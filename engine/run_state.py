"""A run's lifecycle primitives: create it, park it on a timer, end it.

A run is plain data kept in ``state["runs"][slot]`` (engine.context.run_slot)::

    {"id", "workflow_id", "version", "node", "started_at", "steps", "visits": {node: n},
     "vars": {...}, "wait": None | {"token", "due", "kind", "node"}, "key"?}

``key`` is the run's value of ``settings.run_key`` (keyed runs: one live run per contact and key value).
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from engine import ids
from engine.context import Run, StepContext, slot_of
from engine.model import Workflow


class Halt(Enum):
    """A node handler's answer when the run does not go on to another node in this step."""

    PARKED = "parked"  # waiting on a timer; the run is stored
    ENDED = "ended"  # the run is over and removed


Outcome = str | None | Halt  # next node id, end of path, or halt


def run_key_of(workflow: Workflow, properties: dict[str, Any]) -> str | None:
    """The key value a run of ``workflow`` started (or matched) by these properties has, if keyed."""
    name = workflow.settings.run_key
    if name is None:
        return None
    value = properties.get(name)
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    return str(value)


def new_run(ctx: StepContext, workflow: Workflow, entry: str, variables: dict[str, Any]) -> Run:
    run: Run = {
        "id": ids.run_id(ctx.contact_id, workflow.id, workflow.version, entry),
        "workflow_id": workflow.id,
        "version": workflow.version,
        "node": workflow.start,
        "started_at": ctx.now,
        "steps": 0,
        "visits": {},
        "vars": variables,
        "wait": None,
    }
    key = run_key_of(workflow, variables)
    if key is not None:
        run["key"] = key
    return run


def working_copy(run: Run) -> Run:
    """A copy of ``run`` that the current step may change (the input state's run is never touched)."""
    return {**run, "visits": dict(run["visits"])}


def park(ctx: StepContext, workflow: Workflow, run: Run, node_id: str, due: int, kind: str) -> None:
    visit = run["visits"].get(node_id, 0)
    token = ids.run_timer_token(run["id"], node_id, visit, kind)
    run["node"] = node_id
    run["wait"] = {"token": token, "due": due, "kind": kind, "node": node_id}
    ctx.set_run(run)
    ctx.request_timer(due, token, workflow.id, run["id"], node_id, kind)


def end_run(
    ctx: StepContext,
    workflow: Workflow,
    run: Run,
    reason: str,
    node_id: str | None = None,
    transition: str = "exited",
    **details: Any,
) -> Halt:
    ctx.remove_run(slot_of(run), run["id"])
    ctx.note(workflow, run, node_id, transition, reason, steps=run["steps"], **details)
    return Halt.ENDED


def scalar_properties(properties: dict[str, Any]) -> dict[str, Any]:
    """The event properties a run keeps as variables: strings, numbers, booleans and nulls."""
    return {k: v for k, v in properties.items() if v is None or isinstance(v, (str, int, float, bool))}
