"""branch, switch and split: choose the next node."""

from __future__ import annotations

from engine import ids
from engine.context import Run, StepContext
from engine.model import BranchNode, SplitNode, SwitchNode, Workflow
from engine.run_state import Outcome, end_run


def run_branch(ctx: StepContext, workflow: Workflow, run: Run, node: BranchNode) -> Outcome:
    scope = ctx.scope(run)
    for index, branch in enumerate(node.branches):
        if branch.when.evaluate(scope):
            ctx.note(
                workflow,
                run,
                node.id,
                "branched",
                f"when {branch.when.source}",
                branch=index,
                next=branch.next,
            )
            return branch.next
    ctx.note(
        workflow, run, node.id, "branched", "no condition held: default", branch="default", next=node.default
    )
    return node.default


def run_switch(ctx: StepContext, workflow: Workflow, run: Run, node: SwitchNode) -> Outcome:
    value = node.value.value(ctx.scope(run))
    for index, case in enumerate(node.cases):
        if _same(case.equals, value):
            ctx.note(
                workflow,
                run,
                node.id,
                "branched",
                f"{node.value.source} == {case.equals!r}",
                branch=index,
                next=case.next,
            )
            return case.next
    ctx.note(
        workflow,
        run,
        node.id,
        "branched",
        f"{node.value.source} is {value!r}: default",
        branch="default",
        next=node.default,
    )
    return node.default


def run_split(ctx: StepContext, workflow: Workflow, run: Run, node: SplitNode) -> Outcome:
    point = ids.bucket(ctx.contact_id, workflow.id, workflow.version, node.id) / 100  # 0 <= point < 100
    upper = 0
    chosen = None
    for arm in node.arms:
        upper += arm.weight
        if point < upper:
            chosen = arm
            break
    arm_name = chosen.name if chosen is not None else "holdout"
    arms = {**run["vars"].get("arms", {}), node.id: arm_name}
    run["vars"] = {**run["vars"], "arms": arms}
    if chosen is None:
        ctx.note(workflow, run, node.id, "split", "holdout: control group exits", arm="holdout")
        return end_run(ctx, workflow, run, "holdout")
    ctx.note(
        workflow,
        run,
        node.id,
        "split",
        f"arm {chosen.name} ({chosen.weight}%)",
        arm=chosen.name,
        next=chosen.next,
    )
    return chosen.next


def _same(expected: object, value: object) -> bool:
    """Equality that does not confuse true with 1."""
    return isinstance(expected, bool) == isinstance(value, bool) and expected == value
