"""Recommendations for marketers: per-node funnel figures in, plain suggestions with numbers out.

Input rows (from the analytics queries), one per workflow node that sends something:
``{"workflow", "node", "sent", "opened", "clicked", "converted"}`` plus optional ``"position"`` (order
of the node along the journey; row order otherwise), ``"channel"`` (default "email") and ``"entered"``
(runs that reached the node, for drop-off).

A suggestion is made only when the numbers support it: both sides have at least ``MIN_SAMPLE``
trials, the relative gap is at least ``MIN_RELATIVE_GAP``, and a two-proportion z-test gives
|z| >= ``MIN_Z``. Every suggestion carries the figures it was made from, and its message quotes them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from ml.exceptions import MLError

MIN_SAMPLE = 100
MIN_RELATIVE_GAP = 0.25
MIN_Z = 2.0
DROP_OFF_BELOW = 0.5  # suggest when fewer than half of the runs reaching a node reach the next one


@dataclass(frozen=True)
class NodeFigures:
    workflow: str
    node: str
    position: int
    channel: str
    sent: int
    opened: int
    clicked: int
    converted: int
    entered: int | None


@dataclass(frozen=True)
class Suggestion:
    workflow: str
    node: str
    kind: str  # open_rate_drop | click_rate_low | conversion_drop | drop_off
    message: str
    figures: dict[str, float]
    severity: float  # relative gap, for ordering


def parse_rows(rows: Iterable[Mapping[str, Any]]) -> list[NodeFigures]:
    """Validate and normalise the rows; raises MLError naming the bad row."""
    out: list[NodeFigures] = []
    for index, row in enumerate(rows):
        try:
            counts = {key: int(row.get(key) or 0) for key in ("sent", "opened", "clicked", "converted")}
            entered = row.get("entered")
            out.append(
                NodeFigures(
                    workflow=str(row["workflow"]),
                    node=str(row["node"]),
                    position=int(row.get("position", index)),
                    channel=str(row.get("channel") or "email"),
                    entered=int(entered) if entered is not None else None,
                    **counts,
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise MLError(f"row {index} is not a node figure row: {exc}") from exc
        if min(counts.values()) < 0:
            raise MLError(f"row {index} has a negative count")
    return out


def recommend(rows: Iterable[Mapping[str, Any]]) -> list[Suggestion]:
    """Every supported suggestion, the most severe first."""
    by_workflow: dict[str, list[NodeFigures]] = {}
    for figures in parse_rows(rows):
        by_workflow.setdefault(figures.workflow, []).append(figures)
    suggestions: list[Suggestion] = []
    for nodes in by_workflow.values():
        nodes.sort(key=lambda n: n.position)
        suggestions += _open_rate_drops(nodes)
        suggestions += _low_click_rates(nodes)
        suggestions += _conversion_drops(nodes)
        suggestions += _drop_offs(nodes)
    suggestions.sort(key=lambda s: (-s.severity, s.workflow, s.node, s.kind))
    return suggestions


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def z_score(hits_a: int, trials_a: int, hits_b: int, trials_b: int) -> float:
    """Two-proportion z statistic of a vs b (0 when undefined)."""
    pooled = (hits_a + hits_b) / (trials_a + trials_b)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / trials_a + 1 / trials_b))
    return (hits_a / trials_a - hits_b / trials_b) / spread if spread > 0 else 0.0


def _below(hits: int, trials: int, ref_hits: int, ref_trials: int) -> float | None:
    """The relative gap when rate hits/trials is credibly below ref_hits/ref_trials, else None."""
    if trials < MIN_SAMPLE or ref_trials < MIN_SAMPLE or ref_hits == 0:
        return None
    rate, ref_rate = hits / trials, ref_hits / ref_trials
    gap = 1 - rate / ref_rate
    if gap < MIN_RELATIVE_GAP or z_score(hits, trials, ref_hits, ref_trials) > -MIN_Z:
        return None
    return gap


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _open_rate_drops(nodes: list[NodeFigures]) -> list[Suggestion]:
    out: list[Suggestion] = []
    for channel in sorted({n.channel for n in nodes}):
        sends = [n for n in nodes if n.channel == channel and n.sent > 0]
        if len(sends) < 2:
            continue
        first = sends[0]
        for rank, node in enumerate(sends[1:], start=2):
            gap = _below(node.opened, node.sent, first.opened, first.sent)
            if gap is None:
                continue
            rate, first_rate = node.opened / node.sent, first.opened / first.sent
            message = (
                f"the {ordinal(rank)} {channel}'s open rate ({_pct(rate)}, {node.opened} of {node.sent}, "
                f"node {node.node}) is {gap:.0%} below the 1st ({_pct(first_rate)}, {first.opened} of "
                f"{first.sent}, node {first.node}); try a later send time or a fresher subject"
            )
            figures = {
                "open_rate": rate,
                "reference_open_rate": first_rate,
                "sent": node.sent,
                "opened": node.opened,
                "reference_sent": first.sent,
                "reference_opened": first.opened,
                "relative_gap": gap,
            }
            out.append(Suggestion(node.workflow, node.node, "open_rate_drop", message, figures, gap))
    return out


def _low_click_rates(nodes: list[NodeFigures]) -> list[Suggestion]:
    out: list[Suggestion] = []
    total_opened = sum(n.opened for n in nodes)
    total_clicked = sum(n.clicked for n in nodes)
    for node in nodes:
        rest_opened, rest_clicked = total_opened - node.opened, total_clicked - node.clicked
        gap = _below(node.clicked, node.opened, rest_clicked, rest_opened)
        if gap is None:
            continue
        rate, rest_rate = node.clicked / node.opened, rest_clicked / rest_opened
        message = (
            f"node {node.node}: {_pct(rate)} of opens lead to a click ({node.clicked} of {node.opened}), "
            f"{gap:.0%} below the rest of this workflow ({_pct(rest_rate)}, {rest_clicked} of "
            f"{rest_opened}); make the call to action clearer or move it up"
        )
        figures = {
            "click_rate": rate,
            "reference_click_rate": rest_rate,
            "opened": node.opened,
            "clicked": node.clicked,
            "relative_gap": gap,
        }
        out.append(Suggestion(node.workflow, node.node, "click_rate_low", message, figures, gap))
    return out


def _conversion_drops(nodes: list[NodeFigures]) -> list[Suggestion]:
    sends = [n for n in nodes if n.sent > 0]
    if len(sends) < 2:
        return []
    best = max(sends, key=lambda n: (n.converted / n.sent, -n.position))
    out: list[Suggestion] = []
    for node in sends:
        if node is best:
            continue
        gap = _below(node.converted, node.sent, best.converted, best.sent)
        if gap is None:
            continue
        rate, best_rate = node.converted / node.sent, best.converted / best.sent
        message = (
            f"node {node.node} converts {_pct(rate)} of its sends ({node.converted} of {node.sent}), "
            f"{gap:.0%} below node {best.node} ({_pct(best_rate)}, {best.converted} of {best.sent}); "
            f"rework its offer, or end the journey before it"
        )
        figures = {
            "conversion_rate": rate,
            "reference_conversion_rate": best_rate,
            "sent": node.sent,
            "converted": node.converted,
            "relative_gap": gap,
        }
        out.append(Suggestion(node.workflow, node.node, "conversion_drop", message, figures, gap))
    return out


def _drop_offs(nodes: list[NodeFigures]) -> list[Suggestion]:
    out: list[Suggestion] = []
    reached = [(n, n.entered) for n in nodes if n.entered is not None]
    for (before, entered), (after, continued) in pairwise(reached):
        if entered < MIN_SAMPLE:
            continue
        share = continued / entered
        if share >= DROP_OFF_BELOW:
            continue
        message = (
            f"only {_pct(share)} of the runs that reach node {before.node} go on to node {after.node} "
            f"({continued} of {entered}); check the wait or condition between them"
        )
        figures = {"entered": entered, "continued": continued, "share": share}
        out.append(Suggestion(before.workflow, after.node, "drop_off", message, figures, 1 - share))
    return out
