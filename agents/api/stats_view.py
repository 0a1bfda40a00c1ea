"""GET /v1/workflows/{id}/stats: the analytics funnel, outcomes and live positions, per node and per edge.

Input is the rows of the analytics writer's named reports (`funnel`, `outcomes`, `whereis`, `entered_daily`,
`edges`) as {"columns": [...], "rows": [[...]]}; output keeps the rows and adds per-node counts, the share of
runs that went along each edge, conversion, and the runs entered on each day of the period.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from engine.durations import DAY

Report = dict[str, Any]


def rows_of(report: Report) -> list[dict[str, Any]]:
    columns = list(report.get("columns") or [])
    return [dict(zip(columns, row, strict=False)) for row in report.get("rows") or []]


def period(now_ms: int, days: int) -> tuple[int, list[str]]:
    """The `days` whole UTC days ending with the day of ``now_ms``: the first one's midnight (epoch ms) and
    every day's ISO date, oldest first."""
    first = now_ms - now_ms % DAY - (days - 1) * DAY
    return first, [dt.datetime.fromtimestamp((first + i * DAY) / 1000, dt.UTC).date().isoformat()
                   for i in range(days)]  # fmt: skip


def entered_per_day(days: list[str], entered_daily: Report) -> list[dict[str, Any]]:
    """[{day, entered}] for each of ``days``, 0 where the report has no row."""
    by_day: dict[str, int] = {}
    for row in rows_of(entered_daily):
        day = str(row.get("day"))
        by_day[day] = by_day.get(day, 0) + int(row.get("runs") or 0)
    return [{"day": day, "entered": by_day.get(day, 0)} for day in days]


def edge_shares(edges: Report, nodes: dict[str, dict[str, int]]) -> list[dict[str, Any]]:
    """[{source, target, runs, share}]: the runs that went from source straight on to target, and their
    share of the runs that reached source (None when none did)."""
    runs: dict[tuple[str, str], int] = {}
    for row in rows_of(edges):
        if row.get("node") and row.get("next"):
            key = (str(row["node"]), str(row["next"]))
            runs[key] = runs.get(key, 0) + int(row.get("runs") or 0)
    out = []
    for (source, target), count in sorted(runs.items()):
        reached = nodes.get(source, {}).get("reached", 0)
        out.append({"source": source, "target": target, "runs": count,
                    "share": count / reached if reached else None})  # fmt: skip
    return out


def workflow_stats(
    workflow_id: str,
    funnel: Report,
    outcomes: Report,
    whereis: Report,
    entered_daily: Report,
    edges: Report,
    days: list[str],
) -> dict[str, Any]:
    funnel_rows = rows_of(funnel)
    outcome_rows = rows_of(outcomes)
    live_rows = rows_of(whereis)
    nodes: dict[str, dict[str, int]] = {}

    def node(name: Any) -> dict[str, int]:
        return nodes.setdefault(str(name), {"reached": 0, "live": 0, "exited": 0, "goals": 0, "actions": 0,
                                            "delivered": 0, "failed": 0})  # fmt: skip

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
            if row.get("node"):
                node(row["node"])["goals"] += runs
        elif step == "exited":  # one row per reason; exit criteria end a run at the node it waited at
            exited += runs
            if row.get("node"):
                node(row["node"])["exited"] += runs
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
        "edges": edge_shares(edges, nodes),
        "daily": entered_per_day(days, entered_daily),
        "funnel": funnel_rows,
        "outcomes": outcome_rows,
        "live": live_rows,
    }
