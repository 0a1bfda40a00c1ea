"""The channel bandit fed through the real path: sends and their outcomes go through ``Scorer.observe``.

Unlike ``ml_experiments.bandit_regret`` (the bandit alone, rewarded the moment it chooses), here every
part of the worker's path is in the loop:

- a send decision is a workflow wake-up (``timer.fired``, not scored) whose step emits one send action
  on the contact's hinted channel (``state["hints"]["channel"]``, as the engine's ``send_best`` reads it,
  computed at the contact's previous event);
- the action opens a trial in the contact's ml-state (ml.trials); the contact answers with
  ``<channel>.clicked`` (reward 0.7) at its segment's true rate for that channel, some time within two
  days, or the send fails (``<channel>.failed`` naming the action: reward 0 at once), or nothing comes;
- the trial closes when its 72 h window has passed, on the contact's ml wake-up (rounded to its daily
  slot) or a later event, and only then does the bandit learn; the contact's next pick is keyed by its
  sends so far and drawn from its segment's table (ml.bandit.pick).

So feedback arrives three to four days late and picks can be as old as the contact's last event: the
regret is higher than the instant simulation's, which is the point of measuring it here.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass
from typing import Any

from engine.profile import apply_event
from engine.types import Event, Profile
from loadtest.ml_experiments import BANDIT_RATES, RegretPoint
from loadtest.ml_replay import wakeup_event
from ml.bandit import CHANNELS
from ml.clock import DAY_MS, HOUR_MS
from ml.hints import Hints
from ml.scoring import Scorer
from ml.state import MLState
from ml.trials import Closed

T0 = 1_767_261_600_000  # 2026-01-01T10:00:00Z
CLICK_DELAY_MS = (5 * 60_000, 2 * DAY_MS)
FAILURE_RATE = 0.02


@dataclass
class PathRun:
    points: list[RegretPoint]
    sends: int
    responses: int
    failures: int
    closed: dict[str, int]  # trials closed, by why
    best_share_late: float  # share of the last fifth of sends on the segment's best channel
    events: int  # observe calls, wake-ups included


def bandit_through_scorer(
    sends: int,
    *,
    contacts: int = 3000,
    days: float = 120.0,
    seed: int = 11,
    rates: dict[str, dict[str, float]] | None = None,
    points: int = 8,
) -> PathRun:
    """Simulate ``sends`` send decisions over ``days`` for ``contacts`` contacts of the segments of
    ``rates`` (default BANDIT_RATES) through a fresh Scorer; the regret is counted at each decision."""
    table = rates if rates is not None else BANDIT_RATES
    segments = sorted(table)
    best = {segment: max(table[segment].values()) for segment in segments}
    global_channel = max(CHANNELS, key=lambda c: sum(table[s][c] for s in segments))
    mean_rate = {segment: sum(table[segment].values()) / len(table[segment]) for segment in segments}
    world = random.Random(seed)
    closed: dict[str, int] = {}
    scorer = Scorer(on_trial=lambda _, trial: _count(closed, trial))
    sim = _Contacts(scorer)
    queue: list[tuple[int, int, str, Event]] = []  # (ts, serial, kind, event)
    serial = 0

    def push(ts: int, kind: str, event: Event) -> None:
        nonlocal serial
        serial += 1
        heapq.heappush(queue, (ts, serial, kind, event))

    names = [f"b{index:05d}" for index in range(contacts)]
    for index, contact in enumerate(names):
        segment = segments[index % len(segments)]
        push(T0 + index, "event", _added(contact, segment, T0 + index))
    span = int(days * DAY_MS)
    for number in range(sends):
        ts = T0 + HOUR_MS + world.randrange(span)
        push(ts, "decide", _wait_fired(world.choice(names), ts, number))
    marks = {max(1, sends * (k + 1) // points) for k in range(points)}
    decided = responses = failures = late_best = 0
    regret = regret_global = random_regret = 0.0
    out: list[RegretPoint] = []
    while queue:
        ts, _, kind, event = heapq.heappop(queue)
        for wakeup in sim.due_wakeups(ts):
            sim.deliver(wakeup)
        if kind == "event":
            sim.deliver(event)
            continue
        contact = event["contact_id"]
        segment = sim.segment[contact]
        hints = sim.hints.get(contact)
        channel = hints["channel"] if hints else "email"
        action = _send(contact, channel, ts, decided)
        sim.deliver(event, [action])
        decided += 1
        rate = table[segment][channel]
        regret += best[segment] - rate
        regret_global += table[segment][global_channel] - rate
        random_regret += best[segment] - mean_rate[segment]
        if decided > sends * 4 // 5 and rate == best[segment]:
            late_best += 1
        draw = world.random()
        if draw < FAILURE_RATE:
            failures += 1
            push(ts + 60_000, "event", _outcome(contact, f"{channel}.failed", ts + 60_000, action))
        elif draw < FAILURE_RATE + rate * (1 - FAILURE_RATE):
            responses += 1
            at = ts + world.randrange(*CLICK_DELAY_MS)
            push(at, "event", _outcome(contact, f"{channel}.clicked", at, action))
        if decided in marks:
            out.append(RegretPoint(decided, regret, regret_global, random_regret))
    for wakeup in sim.due_wakeups(None):
        sim.deliver(wakeup)
    late = sends - sends * 4 // 5
    return PathRun(out, decided, responses, failures, closed, late_best / max(1, late), sim.calls)


class _Contacts:
    """The contacts' profiles, ml-states, hints and pending ml wake-ups, as the worker keeps them."""

    def __init__(self, scorer: Scorer) -> None:
        self.scorer = scorer
        self.profiles: dict[str, Profile] = {}
        self.states: dict[str, MLState] = {}
        self.hints: dict[str, Hints] = {}
        self.segment: dict[str, str] = {}
        self.wakeups: list[tuple[int, str, str]] = []
        self.calls = 0

    def deliver(self, event: Event, actions: list[dict[str, Any]] | None = None) -> None:
        contact = event["contact_id"]
        profile = self.profiles[contact] = apply_event(self.profiles.get(contact), event)
        self.segment.setdefault(contact, str(profile["attrs"].get("segment", "all")))
        result = self.scorer.observe_with_hints(
            self.states.get(contact), profile, event, event["ts"], actions or (), self.hints.get(contact)
        )
        self.calls += 1
        self.states[contact] = result.ml_state
        if result.hints is not None:
            self.hints[contact] = result.hints
        for request in result.timers:
            heapq.heappush(self.wakeups, (request["due"], request["token"], contact))

    def due_wakeups(self, until: int | None) -> list[Event]:
        """The current (not superseded) ml wake-ups due by ``until`` (all when None), in due order."""
        out: list[Event] = []
        while self.wakeups and (until is None or self.wakeups[0][0] <= until):
            due, token, contact = heapq.heappop(self.wakeups)
            current = self.states[contact].get("tm")
            if current is not None and current["token"] == token:
                out.append(wakeup_event(contact, due, token))
        return out


def _count(closed: dict[str, int], trial: Closed) -> None:
    closed[trial.why] = closed.get(trial.why, 0) + 1


def _added(contact: str, segment: str, ts: int) -> Event:
    properties = {
        "segment": segment,
        "email": f"{contact}@example.com",
        "phone": "+15550100",
        "push_token": f"tok-{contact}",
    }
    return {"event_id": f"{contact}-added", "contact_id": contact, "type": "contact.added", "ts": ts,
            "properties": properties}  # fmt: skip


def _wait_fired(contact: str, ts: int, number: int) -> Event:
    token = f"wait-{number}"
    return {"event_id": f"timer:{token}", "contact_id": contact, "type": "timer.fired", "ts": ts,
            "properties": {"token": token, "due": ts, "kind": "wait", "fired_at": ts}}  # fmt: skip


def _send(contact: str, channel: str, ts: int, number: int) -> dict[str, Any]:
    return {"action_id": f"send-{number}", "channel": channel, "type": f"send_{channel}",
            "contact_id": contact, "workflow_id": "bandit", "version": 1, "run_id": f"run-{number}",
            "node_id": "send_best", "ts": ts, "params": {}}  # fmt: skip


def _outcome(contact: str, etype: str, ts: int, action: dict[str, Any]) -> Event:
    return {"event_id": f"{action['action_id']}:{etype}", "contact_id": contact, "type": etype, "ts": ts,
            "properties": {"action_id": action["action_id"], "workflow_id": "bandit"}}  # fmt: skip
