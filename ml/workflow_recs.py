"""Workflow recommendations: a definition and its analytics figures in, concrete proposed edits out.

Kinds (thresholds in docs/recommendations.md; every one needs at least ``MIN_SAMPLE`` trials):
- open_rate_drop / click_rate_low: a send whose open (click-per-open) rate is significantly below its
  siblings' (ml.recommend); change: its fixed wait becomes ``until: best_send_time``, else a review flag;
- drop_off: fewer than ``DROP_OFF_BELOW`` of the runs reaching a single-exit node reach the next one;
- split_winner: an arm beats the holdout (95 % interval of the difference above 0) and every other arm
  (z >= ``MIN_Z``); change: the winner's weight to 100, the other arms and the holdout to 0;
- goal_never_reached: at least ``MIN_SAMPLE`` runs entered and a goal node was never reached; no change;
- fixed_wait_before_send: a ``duration`` wait is the only way into a send with ``MIN_SAMPLE`` sends;
  change: ``until: best_send_time``;
- bandit_channel: most of a fixed-channel send's audience is in segments where the bandit's evidence
  prefers another channel (ml.channel_recs); change: the node becomes a ``send_best``.
Pure: no I/O. The id is a hash of workflow, version, kind, node and change, so it is stable across calls.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from ml import journey
from ml.channel_recs import KIND as BANDIT_CHANNEL
from ml.channel_recs import bandit_channel_findings
from ml.recommend import DROP_OFF_BELOW, MIN_SAMPLE, MIN_Z, Suggestion, recommend, z_score

Row = Mapping[str, Any]


@dataclass(frozen=True)
class Recommendation:
    id: str
    workflow: str
    version: int
    kind: str
    node: str
    evidence: dict[str, Any]
    expected_effect: str
    change: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Figures:
    """The analytics rows for one workflow version: per-node sends, funnel steps and split lift."""

    sends: Sequence[Row] = ()  # node, channel, sent, opened, clicked, converted
    funnel: Sequence[Row] = ()  # step, node, why, runs
    lift: Sequence[Row] = ()  # split_node, arm, contacts, conversions, rate, diff_low
    channels: Sequence[Row] = ()  # every workflow's sends per node, channel and segment, with rewards


def recommendation_id(workflow: str, version: int, kind: str, node: str, change: list[dict[str, Any]]) -> str:
    text = orjson.dumps([workflow, version, kind, node, change], option=orjson.OPT_SORT_KEYS)
    return "rec_" + hashlib.sha256(text).hexdigest()[:16]


def make(
    definition: Mapping[str, Any], kind: str, node: str, evidence: dict[str, Any], effect: str,
    change: list[dict[str, Any]],
) -> Recommendation:  # fmt: skip
    workflow, version = str(definition.get("id", "")), int(definition.get("version", 0))
    return Recommendation(
        recommendation_id(workflow, version, kind, node, change), workflow, version, kind, node, evidence,
        effect, change,
    )  # fmt: skip


def recommendations(definition: Mapping[str, Any], figures: Figures) -> list[Recommendation]:
    """Every supported recommendation for this definition, in journey order of their nodes."""
    found = [
        *send_rate_recommendations(definition, figures.sends),
        *drop_off_recommendations(definition, figures.funnel),
        *split_winner_recommendations(definition, figures.lift),
        *goal_recommendations(definition, figures.funnel),
        *(
            make(definition, BANDIT_CHANNEL, f.node, f.evidence, f.effect, f.change)
            for f in bandit_channel_findings(definition, figures.channels)
        ),
    ]
    taken = {op["path"] for rec in found for op in rec.change}
    found += [
        rec
        for rec in wait_recommendations(definition, figures.sends)
        if not taken & {op["path"] for op in rec.change}
    ]
    rank = {node: i for i, node in enumerate(journey.order(definition))}
    return sorted(found, key=lambda r: (rank.get(r.node, len(rank)), r.kind, r.id))


def best_send_time_change(wait_node: str) -> list[dict[str, Any]]:
    return [
        {"op": "remove", "path": f"/nodes/{wait_node}/duration"},
        {"op": "add", "path": f"/nodes/{wait_node}/until", "value": "best_send_time"},
    ]


def _send_rows(definition: Mapping[str, Any], rows: Iterable[Row]) -> list[dict[str, Any]]:
    nodes = journey.nodes_of(definition)
    rank = {node: i for i, node in enumerate(journey.order(definition))}
    out = [
        {**row, "workflow": str(definition.get("id", "")), "position": rank[str(row["node"])]}
        for row in rows
        if str(row.get("node")) in nodes and journey.is_send(nodes[str(row["node"])])
    ]
    return sorted(out, key=lambda r: int(r["position"]))


def send_rate_recommendations(definition: Mapping[str, Any], rows: Iterable[Row]) -> list[Recommendation]:
    nodes = journey.nodes_of(definition)
    out: list[Recommendation] = []
    sends = _send_rows(definition, rows)
    for suggestion in recommend(sends):
        if suggestion.kind not in ("open_rate_drop", "click_rate_low"):
            continue
        z = _z_of(suggestion, sends)
        out.append(_send_rate(definition, nodes[suggestion.node], suggestion, z))
    return out


def _send_rate(
    definition: Mapping[str, Any], node: Mapping[str, Any], s: Suggestion, z: float
) -> Recommendation:
    figures = s.figures
    rate_key = "open_rate" if s.kind == "open_rate_drop" else "click_rate"
    rate, reference = figures[rate_key], figures[f"reference_{rate_key}"]
    wait = journey.fixed_wait_before(definition, s.node) if s.kind == "open_rate_drop" else None
    if wait is not None:
        change = best_send_time_change(wait)
        how = f"waiting for each contact's best send hour at {wait} instead of a fixed delay"
    else:
        what = "subject" if s.kind == "open_rate_drop" else "call to action"
        note = f"review the {what}: {_pct(rate)} against {_pct(reference)} for its siblings"
        op = "replace" if "description" in node else "add"
        change = [{"op": op, "path": f"/nodes/{s.node}/description", "value": note}]
        how = f"a reworked {what}"
    sends = int(figures.get("sent", figures.get("opened", 0)))
    effect = (
        f"if {how} brings node {s.node} to its siblings' {_pct(reference)} from {_pct(rate)}, about "
        f"{round((reference - rate) * sends)} more {'opens' if rate_key == 'open_rate' else 'clicks'} "
        f"per {sends} {'sends' if rate_key == 'open_rate' else 'opens'}"
    )
    evidence = {**figures, "z": round(z, 3), "message": s.message}
    return make(definition, s.kind, s.node, evidence, effect, change)


def _z_of(s: Suggestion, rows: list[dict[str, Any]]) -> float:
    f = s.figures
    if s.kind == "open_rate_drop":
        return z_score(int(f["opened"]), int(f["sent"]), int(f["reference_opened"]), int(f["reference_sent"]))
    opened, clicked = int(f["opened"]), int(f["clicked"])
    rest_opened = sum(int(r.get("opened") or 0) for r in rows) - opened
    rest_clicked = sum(int(r.get("clicked") or 0) for r in rows) - clicked
    return z_score(clicked, opened, rest_clicked, rest_opened)


def wait_recommendations(definition: Mapping[str, Any], rows: Iterable[Row]) -> list[Recommendation]:
    out: list[Recommendation] = []
    for row in _send_rows(definition, rows):
        sent, opened = int(row.get("sent") or 0), int(row.get("opened") or 0)
        wait = journey.fixed_wait_before(definition, str(row["node"]))
        if wait is None or sent < MIN_SAMPLE:
            continue
        duration = journey.nodes_of(definition)[wait]["duration"]
        evidence = {"sent": sent, "opened": opened, "open_rate": opened / sent, "wait": wait,
                    "duration": duration}  # fmt: skip
        effect = (
            f"node {row['node']} went out {sent} times after a fixed {duration} wait with a "
            f"{_pct(opened / sent)} open rate; sending at each contact's best hour (within 24h) aims above it"
        )
        out.append(
            make(definition, "fixed_wait_before_send", wait, evidence, effect, best_send_time_change(wait))
        )
    return out


def _reached(funnel: Iterable[Row]) -> tuple[int, dict[str, int], dict[str, int]]:
    entered, reached, goals = 0, dict[str, int](), dict[str, int]()
    for row in funnel:
        step, node, runs = str(row.get("step")), str(row.get("node") or ""), int(row.get("runs") or 0)
        if step == "entered":
            entered += runs
        elif step == "reached":
            reached[node] = reached.get(node, 0) + runs
        elif step == "goal":
            goals[node] = goals.get(node, 0) + runs
    return entered, reached, goals


def drop_off_recommendations(definition: Mapping[str, Any], funnel: Iterable[Row]) -> list[Recommendation]:
    _, reached, _ = _reached(funnel)
    nodes = journey.nodes_of(definition)
    out: list[Recommendation] = []
    for node_id in journey.order(definition):
        after = journey.successors(nodes[node_id], set(nodes))
        entered = reached.get(node_id, 0)
        if len(after) != 1 or entered < MIN_SAMPLE or nodes[node_id].get("type") == "goal":
            continue
        continued = reached.get(after[0], 0)
        share = continued / entered
        if share >= DROP_OFF_BELOW:
            continue
        evidence = {"node": node_id, "next": after[0], "entered": entered, "continued": continued,
                    "share": share, "threshold": DROP_OFF_BELOW}  # fmt: skip
        effect = (
            f"only {continued} of {entered} runs ({_pct(share)}) that reach {node_id} go on to {after[0]}; "
            f"raising that to {_pct(DROP_OFF_BELOW)} would keep "
            f"{round(DROP_OFF_BELOW * entered) - continued} more runs in the journey"
        )
        out.append(make(definition, "drop_off", node_id, evidence, effect, []))
    return out


def goal_recommendations(definition: Mapping[str, Any], funnel: Iterable[Row]) -> list[Recommendation]:
    entered, _, goals = _reached(funnel)
    if entered < MIN_SAMPLE:
        return []
    out: list[Recommendation] = []
    for node_id, node in journey.nodes_of(definition).items():
        if node.get("type") != "goal" or goals.get(node_id, 0) > 0:
            continue
        evidence = {"entered": entered, "goal_runs": 0, "goal_event": node.get("event"),
                    "min_sample": MIN_SAMPLE}  # fmt: skip
        effect = (
            f"{entered} runs entered and none reached goal {node_id} (event {node.get('event')!r}); check "
            f"that the event is sent and its key/filter match: no automatic change fits"
        )
        out.append(make(definition, "goal_never_reached", node_id, evidence, effect, []))
    return out


def split_winner_recommendations(definition: Mapping[str, Any], lift: Iterable[Row]) -> list[Recommendation]:
    by_split: dict[str, list[Row]] = {}
    for row in lift:
        by_split.setdefault(str(row.get("split_node")), []).append(row)
    nodes = journey.nodes_of(definition)
    out: list[Recommendation] = []
    for split_id, rows in sorted(by_split.items()):
        node = nodes.get(split_id)
        if node is None or node.get("type") != "split":
            continue
        found = _split_winner(definition, split_id, node, rows)
        if found is not None:
            out.append(found)
    return out


def _split_winner(
    definition: Mapping[str, Any], split_id: str, node: Mapping[str, Any], rows: list[Row]
) -> Recommendation | None:
    arms = [r for r in rows if r.get("arm") != "holdout"]
    holdout = next((r for r in rows if r.get("arm") == "holdout"), None)
    if not arms or any(int(r.get("contacts") or 0) < MIN_SAMPLE for r in rows):
        return None
    best = max(arms, key=lambda r: (_rate(r), str(r.get("arm"))))
    others = [r for r in arms if r is not best]
    if holdout is None and not others:
        return None
    if holdout is not None and not float(best.get("diff_low") or 0.0) > 0:
        return None
    zs = {str(r["arm"]): z_score(_x(best), _n(best), _x(r), _n(r)) for r in others}
    if any(z < MIN_Z for z in zs.values()):
        return None
    definition_arms = node.get("arms")
    names = [str(a.get("name")) for a in definition_arms or [] if isinstance(a, dict)]
    if str(best["arm"]) not in names:
        return None
    change = [
        {
            "op": "replace",
            "path": f"/nodes/{split_id}/arms/{i}/weight",
            "value": 100 if name == best["arm"] else 0,
        }
        for i, name in enumerate(names)
    ]
    if node.get("holdout"):
        change.append({"op": "replace", "path": f"/nodes/{split_id}/holdout", "value": 0})
    evidence: dict[str, Any] = {
        "winner": best["arm"],
        "arms": {str(r["arm"]): {"contacts": _n(r), "conversions": _x(r), "rate": _rate(r)} for r in rows},
        "z_against_arms": zs,
        "diff_low": best.get("diff_low"),
        "diff_high": best.get("diff_high"),
    }
    runner_up = max((_rate(r) for r in [*others, *([holdout] if holdout else [])]), default=0.0)
    effect = (
        f"arm {best['arm']} converts {_pct(_rate(best))} ({_x(best)} of {_n(best)}) against at most "
        f"{_pct(runner_up)} elsewhere: sending everyone down it gains about "
        f"{_pct(_rate(best) - runner_up)} points of conversion"
        + (f" (95% interval vs holdout {_pct(float(best['diff_low']))} to {_pct(float(best['diff_high']))})"
           if holdout is not None else "")
    )  # fmt: skip
    return make(definition, "split_winner", split_id, evidence, effect, change)


def _n(row: Row) -> int:
    return int(row.get("contacts") or 0)


def _x(row: Row) -> int:
    return int(row.get("conversions") or 0)


def _rate(row: Row) -> float:
    return _x(row) / _n(row) if _n(row) else 0.0


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"
