"""GET /v1/workflows/{id}/stats: the analytics funnel, outcomes and live positions, per node.

Input is the rows of the analytics writer's named reports (`funnel`, `outcomes`, `whereis`) as
{"columns": [...], "rows": [[...]]}; output keeps the rows and adds per-node counts and conversion.
"""

from __future__ import annotations

from typing import Any

Report = dict[str, Any]


def rows_of(report: Report) -> list[dict[str, Any]]:
    columns = list(report.get("columns") or [])
    return [dict(zip(columns, row, strict=False)) for row in report.get("rows") or []]


def workflow_stats(workflow_id: str, funnel: Report, outcomes: Report, whereis: Report) -> dict[str, Any]:
    funnel_rows = rows_of(funnel)
    outcome_rows = rows_of(outcomes)
    live_rows = rows_of(whereis)
    nodes: dict[str, dict[str, int]] = {}

    def node(name: Any) -> dict[str, int]:
        return nodes.setdefault(str(name), {"reached": 0, "live": 0, "actions": 0, "delivered": 0,
                                            "failed": 0})  # fmt: skip

    entered = goals = exited = 0
    for row in funnel_rows:
        runs = int(row.get("runs") or 0)
        step = row.get("step")
        if step == "entered":
            entered += runs
        elif step == "reached" and row.get("node"):
            node(row["node"])["reached"] += runs
        elif step == "goal":  # the goal node has its own "reached" row too
            goals += runs
        elif step == "exited":
            exited += runs
    for row in outcome_rows:
        if row.get("node"):
            counts = node(row["node"])
            for key in ("actions", "delivered", "failed"):
                counts[key] += int(row.get(key) or 0)
    for row in live_rows:
        if row.get("node"):
            node(row["node"])["live"] += int(row.get("live_runs") or 0)
    return {
        "workflow_id": workflow_id,
        "entered": entered,
        "goals": goals,
        "exited": exited,
        "conversion": goals / entered if entered else None,
        "nodes": dict(sorted(nodes.items())),
        "funnel": funnel_rows,
        "outcomes": outcome_rows,
        "live": live_rows,
    }
