"""Each recommendation's target metric in a world run, and the lift of a draft over the original.

Target metric by kind (all from the sends' ground-truth responses or the engine's own trace):
- fixed_wait_before_send: open rate of the send the wait leads to; open_rate_drop: open rate of the send;
- click_rate_low: clicks per open of the send;
- split_winner: share of the runs entering the split that reach a goal of the workflow;
- bandit_channel: mean bandit reward of the node's sends (1 a recovered purchase, 0.7 a click, 0.3 an
  open, 0 nothing: ml.bandit.OUTCOME_REWARDS);
- drop_off, goal_never_reached: none (they propose no change; see ``NO_TARGET``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NamedTuple

from engine.actions import RECIPIENT_ATTRIBUTES
from engine.durations import HOUR, parse_duration
from loadtest.rec_scenario import Response, attention, respond
from loadtest.rec_world import Send, WorldRun
from ml import journey
from ml.bandit import OUTCOME_REWARDS
from ml.workflow_recs import Recommendation

NO_TARGET = frozenset({"drop_off", "goal_never_reached"})
Z95 = 1.96


class Metric(NamedTuple):
    """A mean over ``n`` units (sends, opens or runs) and its variance per unit."""

    name: str
    n: int
    mean: float
    variance: float
    truth: float | None = None  # the ground-truth expectation where it is known (open probability)
    oracle: float | None = None  # ... had each send gone at the contact's truly best hour within 24 h


class Lift(NamedTuple):
    original: Metric
    draft: Metric
    diff: float
    low: float
    high: float

    @property
    def improved(self) -> bool:
        return self.diff > 0

    @property
    def significant(self) -> bool:
        return self.low > 0


def _mean(name: str, values: list[float], truth: float | None = None, oracle: float | None = None) -> Metric:
    n = len(values)
    if n == 0:
        return Metric(name, 0, 0.0, 0.0, truth, oracle)
    mean = sum(values) / n
    variance = sum((v - mean) ** 2 for v in values) / max(1, n - 1)
    return Metric(name, n, mean, variance, truth, oracle)


def best_time_wait(rec: Recommendation) -> str | None:
    """The wait the change turns into ``until: best_send_time``, if it does."""
    for op in rec.change:
        if op.get("value") == "best_send_time" and str(op.get("path", "")).endswith("/until"):
            return str(op["path"]).split("/")[2]
    return None


def oracle_open(sends: list[Send], delay_ms: int) -> float:
    """Mean open probability had each send (made ``delay_ms`` after its wait began) gone at the start of
    the hour, within the 24 h after the wait began, that the contact's true affinity rates best."""
    total = 0.0
    for send in sends:
        ts, p = int(send.action["ts"]), send.response.p_open
        began = ts - delay_ms
        first = began - began % HOUR + HOUR
        best = max(attention(send.traits, first + k * HOUR, "email") for k in range(24))
        total += min(1.0, p / attention(send.traits, ts, "email") * best)
    return total / len(sends) if sends else 0.0


def reward(r: Response) -> float:
    """The bandit's reward of a send's ground-truth response."""
    if r.recovered:
        return OUTCOME_REWARDS["converted"]
    if r.clicked:
        return OUTCOME_REWARDS["clicked"]
    return OUTCOME_REWARDS["opened"] if r.opened else 0.0


def target_node(rec: Recommendation, definition: Mapping[str, Any]) -> str:
    """The node whose metric the recommendation means to move (the send after a wait, else its node)."""
    if rec.kind != "fixed_wait_before_send":
        return rec.node
    nodes = journey.nodes_of(definition)
    return journey.successors(nodes[rec.node], set(nodes))[0]


def target_metric(rec: Recommendation, definition: Mapping[str, Any], world: WorldRun) -> Metric | None:
    if rec.kind in NO_TARGET:
        return None
    node = target_node(rec, definition)
    if rec.kind == "split_winner":
        entered = {
            r["run_id"]
            for r in world.trace
            if r.get("workflow_id") == rec.workflow
            and r.get("node_id") == node
            and r["transition"] == "split"
        }
        goals = {
            r["run_id"]
            for r in world.trace
            if r.get("workflow_id") == rec.workflow and r["transition"] == "goal"
        }
        return _mean("conversion per run", [1.0 if run in goals else 0.0 for run in sorted(entered)])
    sends = [s for s in world.sends if (s.action["workflow_id"], s.action["node_id"]) == (rec.workflow, node)]
    if rec.kind == "bandit_channel":
        return _mean("bandit reward per send", [reward(s.response) for s in sends])
    if rec.kind == "click_rate_low":
        opened = [s for s in sends if s.response.opened]
        return _mean("clicks per open", [1.0 if s.response.clicked else 0.0 for s in opened])
    truth = sum(s.response.p_open for s in sends) / len(sends) if sends else None
    wait = best_time_wait(rec)
    duration = journey.nodes_of(definition).get(wait or "", {}).get("duration")
    oracle = oracle_open(sends, parse_duration(str(duration))) if isinstance(duration, str) else None
    return _mean("open rate", [1.0 if s.response.opened else 0.0 for s in sends], truth, oracle)


def best_time_resolution(rec: Recommendation, world: WorldRun) -> tuple[int, int] | None:
    """(waits that ended at a hinted hour, waits that fell back) at the wait the change made a best-time
    wait, in a run of the draft; None when the change makes none."""
    wait = best_time_wait(rec)
    if wait is None:
        return None
    reasons = [
        str(r.get("reason", ""))
        for r in world.trace
        if r.get("workflow_id") == rec.workflow and r.get("node_id") == wait and r["transition"] == "waited"
    ]
    hinted = sum(1 for reason in reasons if reason.startswith("until best send time"))
    return hinted, len(reasons) - hinted


def channel_mix(rec: Recommendation, world: WorldRun) -> dict[str, dict[str, int]]:
    """Sends of the recommendation's node per segment and channel (what a send_best draft chose)."""
    out: dict[str, dict[str, int]] = {}
    for send in world.sends:
        if (send.action["workflow_id"], send.action["node_id"]) == (rec.workflow, rec.node):
            row = out.setdefault(send.segment, {})
            row[str(send.action["channel"])] = row.get(str(send.action["channel"]), 0) + 1
    return {segment: dict(sorted(row.items())) for segment, row in sorted(out.items())}


def preferred_channel_reward(rec: Recommendation, world: WorldRun, seed: int) -> Metric | None:
    """For a bandit_channel recommendation: the node's sends in ``world`` (the original's backtest) had
    each gone out on the channel its segment prefers by the evidence (when the contact has that channel's
    address), answered by the same ground truth with the same draws: does the evidence point the right
    way, whatever the live bandit then picks?"""
    if rec.kind != "bandit_channel":
        return None
    segments: Mapping[str, Any] = rec.evidence.get("segments") or {}
    values: list[float] = []
    for send in world.sends:
        action = send.action
        if (action["workflow_id"], action["node_id"]) != (rec.workflow, rec.node):
            continue
        prefers = (segments.get(send.segment) or {}).get("prefers")
        attrs = world.states[str(action["contact_id"])]["profile"]["attrs"]
        if prefers and attrs.get(RECIPIENT_ATTRIBUTES[str(prefers)]):
            moved = {**action, "channel": prefers}
            params = action.get("params") or {}
            cart = str(params.get("cart_id") or "")
            key = (action["workflow_id"], action["contact_id"], action["node_id"], cart, send.draw)
            response = respond(seed, moved, key, send.traits, send.segment, send.bought_anyway)
            values.append(reward(response))
        else:
            values.append(reward(send.response))
    return _mean("bandit reward per send", values)


def bandit_attribution(world: WorldRun, credited: Mapping[str, float]) -> dict[str, dict[str, Any]]:
    """Per channel: the reward the bandit credited to the world's sends whose trials closed (``credited``:
    action id -> reward, from the scorer's trial observer) against their ground-truth reward."""
    out: dict[str, dict[str, Any]] = {}
    for send in world.sends:
        found = credited.get(str(send.action["action_id"]))
        if found is None:
            continue
        row = out.setdefault(str(send.action["channel"]), {"trials": 0, "credited": 0.0, "true": 0.0})
        row["trials"] += 1
        row["credited"] += found
        row["true"] += reward(send.response)
    return {
        channel: {"trials": row["trials"], "credited_mean": round(row["credited"] / row["trials"], 4),
                  "true_mean": round(row["true"] / row["trials"], 4)}
        for channel, row in sorted(out.items())
    }  # fmt: skip


def lift(original: Metric, draft: Metric) -> Lift:
    """Draft minus original with a 95 % interval (the two runs treated as independent samples)."""
    diff = draft.mean - original.mean
    spread = math.sqrt(
        (original.variance / original.n if original.n else 0.0)
        + (draft.variance / draft.n if draft.n else 0.0)
    )
    return Lift(original, draft, diff, diff - Z95 * spread, diff + Z95 * spread)
