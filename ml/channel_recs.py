"""The `bandit_channel` finding: a fixed-channel send whose audience mostly sits in segments where the
channel bandit's evidence says another channel does significantly better.

Input rows are the `channels` report (sinks/analytics/reports.py), over every workflow, because the bandit
learns across them: ``{workflow_id, version, node, channel, segment, sent, opened, clicked, converted,
reward, reward_sq}`` where a send's reward is the bandit's for engagement (ml.bandit.OUTCOME_REWARDS: 0.7
clicked or replied, 0.3 opened, 0 nothing). Conversions are left out of the comparison: a run's goal
belongs to its workflow, so pooled over workflows they would credit a channel with the goals of the
workflows that happen to use it (the carts of a cart reminder), not with what the channel did.

Per segment (ml.bandit.segment_of) and channel the rows are pooled; a segment *prefers* channel b over
the node's channel c when both have at least ``MIN_SAMPLE`` sends there, b's mean reward is the
segment's best, at least ``MIN_RELATIVE_GAP`` above c's, and Welch's z of the two means is at least
``MIN_Z``. When the node has ``MIN_SAMPLE`` sends and the segments preferring another channel hold at
least ``MOST_OF_AUDIENCE`` of them, the change makes the node a ``send_best`` whose messages are its own
message first (the fallback when the bandit has no pick) and one per preferred channel, so each contact
gets the bandit's channel for its segment. Pure: no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from engine.actions import EXTERNAL_ACTIONS, SEND_ACTIONS, SEND_BEST
from ml import journey
from ml.recommend import MIN_RELATIVE_GAP, MIN_SAMPLE, MIN_Z

KIND = "bandit_channel"
MOST_OF_AUDIENCE = 0.5  # share of the node's sends in segments that prefer another channel
TEXT_KEYS = {"email": "subject", "sms": "body", "push": "title"}  # the one text each channel needs
CARRIED_KEYS = ("category",)  # params that mean the same on every channel

Row = Mapping[str, Any]


class Finding(NamedTuple):
    node: str
    evidence: dict[str, Any]
    effect: str
    change: list[dict[str, Any]]


@dataclass
class Arm:
    """Pooled sends of one (segment, channel)."""

    sent: int = 0
    opened: int = 0
    clicked: int = 0
    converted: int = 0
    reward: float = 0.0
    reward_sq: float = 0.0

    def add(self, row: Row) -> None:
        self.sent += int(row.get("sent") or 0)
        self.opened += int(row.get("opened") or 0)
        self.clicked += int(row.get("clicked") or 0)
        self.converted += int(row.get("converted") or 0)
        self.reward += float(row.get("reward") or 0.0)
        self.reward_sq += float(row.get("reward_sq") or 0.0)

    @property
    def mean(self) -> float:
        return self.reward / self.sent if self.sent else 0.0

    @property
    def variance(self) -> float:
        return max(0.0, self.reward_sq / self.sent - self.mean**2) if self.sent else 0.0

    def summary(self) -> dict[str, Any]:
        return {"sent": self.sent, "opened": self.opened, "clicked": self.clicked,
                "converted": self.converted, "reward_rate": round(self.mean, 4)}  # fmt: skip


@dataclass
class Segment:
    channels: dict[str, Arm] = field(default_factory=dict)


def welch_z(better: Arm, worse: Arm) -> float:
    """z of the difference of the two mean rewards (0 when both are constant)."""
    spread = math.sqrt(better.variance / better.sent + worse.variance / worse.sent)
    return (better.mean - worse.mean) / spread if spread > 0 else 0.0


def pooled(rows: Iterable[Row]) -> dict[str, Segment]:
    segments: dict[str, Segment] = {}
    for row in rows:
        segment = segments.setdefault(str(row.get("segment") or "all"), Segment())
        segment.channels.setdefault(str(row.get("channel")), Arm()).add(row)
    return segments


def preferred(segment: Segment, channel: str) -> tuple[str, float] | None:
    """(the channel this segment prefers to ``channel``, its z) when the evidence says so."""
    own = segment.channels.get(channel)
    if own is None or own.sent < MIN_SAMPLE:
        return None
    known = [(c, arm) for c, arm in segment.channels.items() if arm.sent >= MIN_SAMPLE]
    best, arm = max(known, key=lambda pair: (pair[1].mean, pair[0]))
    if best == channel or arm.mean <= 0 or 1 - own.mean / arm.mean < MIN_RELATIVE_GAP:
        return None
    z = welch_z(arm, own)
    return (best, z) if z >= MIN_Z else None


def message_for(channel: str, params: Mapping[str, Any], from_channel: str) -> dict[str, Any]:
    """The node's message rewritten for ``channel``: its template if it has one, else its text."""
    message: dict[str, Any] = {k: params[k] for k in CARRIED_KEYS if k in params}
    if "template" in params:
        message["template"] = params["template"]
    text = params.get(TEXT_KEYS[from_channel]) or params.get("body") or params.get("subject")
    if text is not None or "template" not in params:
        message[TEXT_KEYS[channel]] = text if text is not None else ""
    return message


def bandit_channel_findings(definition: Mapping[str, Any], rows: Iterable[Row]) -> list[Finding]:
    rows = list(rows)
    workflow, version = str(definition.get("id", "")), int(definition.get("version", 0))
    segments = pooled(rows)
    out: list[Finding] = []
    for node_id, node in journey.nodes_of(definition).items():
        action = str(node.get("action", ""))
        channel = EXTERNAL_ACTIONS.get(action)
        if node.get("type") != "action" or action == SEND_BEST or channel not in SEND_ACTIONS:
            continue
        here = (workflow, version, node_id, channel)
        audience: dict[str, int] = {}
        for row in rows:
            if _place(row) == here:
                segment = str(row.get("segment") or "all")
                audience[segment] = audience.get(segment, 0) + int(row.get("sent") or 0)
        found = _finding(node_id, node, channel, audience, segments)
        if found is not None:
            out.append(found)
    return out


def _place(row: Row) -> tuple[str, int, str, str]:
    workflow, version = str(row.get("workflow_id")), int(row.get("version") or 0)
    return workflow, version, str(row.get("node")), str(row.get("channel"))


def _finding(
    node_id: str,
    node: Mapping[str, Any],
    channel: str,
    audience: dict[str, int],
    segments: dict[str, Segment],
) -> Finding | None:
    total = sum(audience.values())
    if total < MIN_SAMPLE:
        return None
    per_segment: dict[str, Any] = {}
    moving, gain = 0, 0.0
    proposed: list[str] = []
    for name, sent in sorted(audience.items()):
        segment = segments.get(name, Segment())
        choice = preferred(segment, channel)
        per_segment[name] = {
            "sent_here": sent,
            "prefers": choice[0] if choice else None,
            "z": round(choice[1], 3) if choice else None,
            "channels": {c: arm.summary() for c, arm in sorted(segment.channels.items())},
        }
        if choice is not None:
            moving += sent
            gain += sent * (segment.channels[choice[0]].mean - segment.channels[channel].mean)
            if choice[0] not in proposed:
                proposed.append(choice[0])
    share = moving / total
    if share < MOST_OF_AUDIENCE:
        return None
    found = node.get("params")
    params: dict[str, Any] = found if isinstance(found, dict) else {}
    messages = {channel: dict(params), **{c: message_for(c, params, channel) for c in proposed}}
    change: list[dict[str, Any]] = [
        {"op": "replace", "path": f"/nodes/{node_id}/action", "value": SEND_BEST},
        {"op": "replace", "path": f"/nodes/{node_id}/params", "value": {"messages": messages}},
    ]
    evidence = {
        "channel": channel, "proposed": proposed, "sent": total, "sent_in_preferring_segments": moving,
        "share_preferring": round(share, 4), "segments": per_segment,
        "thresholds": {"min_sample": MIN_SAMPLE, "min_relative_gap": MIN_RELATIVE_GAP, "min_z": MIN_Z,
                       "most_of_audience": MOST_OF_AUDIENCE},
    }  # fmt: skip
    effect = (
        f"{moving} of the {total} sends of {node_id} ({100 * share:.1f}%) went to segments where "
        f"{' / '.join(proposed)} earns a significantly higher bandit reward than {channel}; letting the "
        f"bandit choose (send_best) would add about {gain:.1f} reward points (0.7 per click, 0.3 per "
        f"open) per {total} sends"
    )
    return Finding(node_id, evidence, effect, change)
