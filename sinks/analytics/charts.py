"""One PNG chart per report (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from sinks.analytics.store import QueryResult


def save_chart(report: str, result: QueryResult, path: Path, title: str | None = None) -> None:
    rows = result.as_dicts()
    figure, axes = plt.subplots(figsize=(10, max(3.0, 0.35 * len(rows) + 1.5)))
    try:
        draw = {"funnel": _funnel, "steps": _steps, "whereis": _whereis, "outcomes": _outcomes,
                "throughput": _throughput, "lift": _lift, "tables": _tables, "sends": _sends,
                "recommendations": _recommendations, "entered_daily": _entered_daily,
                "edges": _edges}.get(report)  # fmt: skip
        if draw is None or not rows:
            note = "no data" if not rows else f"{len(rows)} row(s): this report is a list, see its table"
            axes.text(0.5, 0.5, note, ha="center", va="center")
            axes.set_axis_off()
        else:
            draw(axes, rows)
        axes.set_title(title or report)
        figure.tight_layout()
        figure.savefig(path, dpi=100)
    finally:
        plt.close(figure)


def _label(row: dict[str, Any], *keys: str) -> str:
    return " ".join(str(row[k]) for k in keys if row.get(k) not in (None, ""))


def _funnel(axes: Any, rows: list[dict[str, Any]]) -> None:
    labels = [_label(r, "workflow_id", "version", "step", "node", "why") for r in rows]
    axes.barh(labels[::-1], [r["runs"] for r in rows][::-1])
    axes.set_xlabel("runs")


def _steps(axes: Any, rows: list[dict[str, Any]]) -> None:
    labels = [_label(r, "workflow_id", "version", "node", "transition") for r in rows]
    axes.barh(labels[::-1], [r["records"] for r in rows][::-1])
    axes.set_xlabel("step records")


def _entered_daily(axes: Any, rows: list[dict[str, Any]]) -> None:
    labels = [_label(r, "workflow_id", "day") for r in rows]
    axes.barh(labels[::-1], [r["runs"] for r in rows][::-1])
    axes.set_xlabel("runs entered")


def _edges(axes: Any, rows: list[dict[str, Any]]) -> None:
    labels = [f"{_label(r, 'workflow_id', 'version', 'node')} → {r['next']}" for r in rows]
    axes.barh(labels[::-1], [r["runs"] for r in rows][::-1])
    axes.set_xlabel("runs")


def _whereis(axes: Any, rows: list[dict[str, Any]]) -> None:
    labels = [_label(r, "workflow_id", "version", "node") for r in rows]
    axes.barh(labels[::-1], [r["live_runs"] for r in rows][::-1])
    axes.set_xlabel("live runs")


def _outcomes(axes: Any, rows: list[dict[str, Any]]) -> None:
    labels = [_label(r, "workflow_id", "node", "channel") for r in rows][::-1]
    left = [0.0] * len(rows)
    for status in ("delivered", "sent", "failed", "suppressed", "pending"):
        values = [float(r.get(status, 0)) for r in rows][::-1]
        axes.barh(labels, values, left=left, label=status)
        left = [a + b for a, b in zip(left, values, strict=True)]
    axes.set_xlabel("actions")
    axes.legend()


def _throughput(axes: Any, rows: list[dict[str, Any]]) -> None:
    series: dict[str, tuple[list[str], list[int]]] = defaultdict(lambda: ([], []))
    for r in rows:
        series[r["type"]][0].append(str(r["minute"]))
        series[r["type"]][1].append(r["events"])
    for etype, (minutes, counts) in sorted(series.items()):
        axes.plot(minutes, counts, marker=".", label=etype)
    axes.set_ylabel("events / minute")
    axes.tick_params(axis="x", labelrotation=45, labelsize=7)
    axes.legend(fontsize=7)


def _lift(axes: Any, rows: list[dict[str, Any]]) -> None:
    shown = [r for r in rows if r.get("rate") is not None]
    labels = [_label(r, "workflow_id", "split_node", "arm") for r in shown]
    rates = [r["rate"] for r in shown]
    low = [r["rate"] - r["rate_low"] for r in shown]
    high = [r["rate_high"] - r["rate"] for r in shown]
    axes.errorbar(rates, labels, xerr=[low, high], fmt="o", capsize=4)
    axes.set_xlabel("conversion rate (95% Wilson interval)")


def _tables(axes: Any, rows: list[dict[str, Any]]) -> None:
    axes.barh([r["table_name"] for r in rows], [r["distinct_ids"] for r in rows])
    axes.set_xlabel("rows (distinct ids)")


def _stacked(axes: Any, labels: list[str], rows: list[dict[str, Any]], keys: tuple[str, ...]) -> None:
    """One group of horizontal bars per row, one bar per key."""
    height = 0.8 / len(keys)
    for i, key in enumerate(keys):
        positions = [n + i * height for n in range(len(rows))]
        axes.barh(positions, [float(r[key] or 0) for r in rows], height=height, label=key)
    axes.set_yticks([n + 0.4 - height / 2 for n in range(len(rows))], labels)
    axes.legend()


def _sends(axes: Any, rows: list[dict[str, Any]]) -> None:
    labels = [_label(r, "workflow_id", "version", "node") for r in rows]
    _stacked(axes, labels, rows, ("sent", "opened", "clicked", "converted"))
    axes.set_xlabel("actions")


def _recommendations(axes: Any, rows: list[dict[str, Any]]) -> None:
    _stacked(axes, [str(r["kind"]) for r in rows], rows, ("shown", "applied", "dismissed"))
    axes.set_xlabel("recommendations")
