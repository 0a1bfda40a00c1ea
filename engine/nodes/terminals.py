"""goal and exit: end the run."""

from __future__ import annotations

from engine.context import Run, StepContext
from engine.model import ExitNode, GoalNode, Workflow
from engine.run_state import Outcome, end_run


def run_goal(ctx: StepContext, workflow: Workflow, run: Run, node: GoalNode) -> Outcome:
    return end_run(ctx, workflow, run, f"goal {node.id} reached", node.id, "goal", goal=node.id)


def run_exit(ctx: StepContext, workflow: Workflow, run: Run, node: ExitNode) -> Outcome:
    return end_run(ctx, workflow, run, node.reason, node.id)
