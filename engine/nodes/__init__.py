"""Node handlers: one function per node type, ``handler(ctx, workflow, run, node) -> Outcome``.

A handler records exactly one trace entry for its visit and returns the next node id, None (end of
path), or a Halt (the run is parked on a timer or has ended).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.context import Run, StepContext
from engine.model import Workflow
from engine.nodes.action import run_action
from engine.nodes.decisions import run_branch, run_split, run_switch
from engine.nodes.terminals import run_exit, run_goal
from engine.nodes.waits import run_wait, run_wait_for
from engine.run_state import Outcome

Handler = Callable[[StepContext, Workflow, Run, Any], Outcome]

HANDLERS: dict[str, Handler] = {
    "wait": run_wait,
    "wait_for": run_wait_for,
    "branch": run_branch,
    "switch": run_switch,
    "split": run_split,
    "action": run_action,
    "goal": run_goal,
    "exit": run_exit,
}
