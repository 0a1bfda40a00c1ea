"""The pure part of /stats: per-node entered, waiting and exited counts from the funnel rows, the share of
each edge of the runs that reached its source, and the runs entered on each UTC day of the period."""

from __future__ import annotations

import datetime as dt
from typing import Any

from agents.api.stats_view import period, workflow_stats
from engine.durations import DAY, HOUR


def report(columns: list[str], *rows: list[Any]) -> dict[str, Any]:
    return {"columns": columns, "rows": [list(r) for r in rows]}


FUNNEL = ["workflow_id", "version", "step", "node", "why", "runs"]
EMPTY = report(["node"])
NOON = int(dt.datetime(2026, 12, 4, 12, tzinfo=dt.UTC).timestamp() * 1000)


def stats(funnel: dict[str, Any] = EMPTY, whereis: dict[str, Any] = EMPTY, daily: dict[str, Any] = EMPTY,
          edges: dict[str, Any] = EMPTY, days: list[str] | None = None) -> dict[str, Any]:  # fmt: skip
    return workflow_stats("w", funnel, EMPTY, whereis, daily, edges, days or [])


def test_the_period_is_whole_utc_days_ending_today() -> None:
    first, days = period(NOON, 7)
    assert days == ["2026-11-28", "2026-11-29", "2026-11-30", "2026-12-01", "2026-12-02", "2026-12-03",
                    "2026-12-04"]  # fmt: skip
    assert first == NOON - 12 * HOUR - 6 * DAY
    assert period(NOON - 12 * HOUR, 1) == (NOON - 12 * HOUR, ["2026-12-04"])  # midnight starts its day
    assert period(NOON - 12 * HOUR - 1, 1)[1] == ["2026-12-03"]  # a millisecond before is the day before


def test_nodes_count_entered_waiting_and_exited_here() -> None:
    funnel = report(FUNNEL,
                    ["w", 1, "entered", "", "", 5], ["w", 1, "reached", "wait", "", 4],
                    ["w", 2, "reached", "wait", "", 1], ["w", 1, "reached", "stop", "", 2],
                    ["w", 1, "exited", "stop", "pro plan", 2], ["w", 1, "exited", "wait", "unsubscribed", 1],
                    ["w", 1, "exited", "", "stopped by node x", 1], ["w", 1, "reached", "won", "", 1],
                    ["w", 1, "goal", "won", "", 1])  # fmt: skip
    live = ["workflow_id", "version", "node", "live_runs"]
    whereis = report(live, ["w", 1, "wait", 2], ["w", 2, "wait", 1])
    got = stats(funnel, whereis)
    assert (got["entered"], got["exited"], got["goals"]) == (5, 4, 1)
    nodes = {n: (c["reached"], c["live"], c["exited"], c["goals"]) for n, c in got["nodes"].items()}
    # exits without a node count in the total only; a goal is not an exit
    assert nodes == {"wait": (5, 3, 1, 0), "stop": (2, 0, 2, 0), "won": (1, 0, 0, 1)}


def test_edges_share_of_the_runs_that_reached_their_source() -> None:
    funnel = report(FUNNEL, ["w", 1, "reached", "route", "", 4], ["w", 1, "reached", "stop", "", 3],
                    ["w", 1, "reached", "wait", "", 1])  # fmt: skip
    edges = report(["workflow_id", "version", "node", "next", "runs"],
                   ["w", 1, "route", "stop", 2], ["w", 2, "route", "stop", 1], ["w", 1, "route", "wait", 1],
                   ["w", 1, "ghost", "wait", 1])  # fmt: skip
    got = {(e["source"], e["target"]): (e["runs"], e["share"]) for e in stats(funnel, edges=edges)["edges"]}
    assert got[("route", "stop")] == (3, 3 / 4)  # versions add up
    assert got[("route", "wait")] == (1, 1 / 4)
    assert got[("ghost", "wait")] == (1, None)  # its source reached by no run over the period: no share
    assert ("wait", "stop") not in got  # no run went that way: no edge row at all
    assert stats()["edges"] == []


def test_daily_fills_the_days_without_runs_with_zero() -> None:
    _, days = period(NOON, 7)
    daily = report(["workflow_id", "day", "runs"], ["w", "2026-11-30", 1], ["w", "2026-12-02", 3],
                   ["w", "2026-11-20", 9])  # fmt: skip
    got = stats(daily=daily, days=days)["daily"]
    assert [d["day"] for d in got] == days
    assert [d["entered"] for d in got] == [0, 0, 1, 0, 3, 0, 0]  # a day outside the period is left out
    assert [d["entered"] for d in stats(days=days)["daily"]] == [0] * 7
