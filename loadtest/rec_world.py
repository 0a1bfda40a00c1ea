"""The recommendations benchmark's closed loop: generated traffic through the real engine and the ML
scorer, every send answered by the scenario's ground truth (loadtest.rec_scenario.respond).

One process plays the worker, the timer service and the contacts, in event-time order over every contact
(the scorer's population prior and bandit are shared, so order across contacts matters):

- an event goes through ``engine.step`` with the contact's state (and, on its first event, the hints the
  models give its profile: ``Scorer.first_hints``), then through ``Scorer.observe_with_hints``
  with the actions the step emitted (sends open bandit trials; the hints the engine reads for
  ``until: best_send_time`` and ``send_best`` are updated), as agents/processor.py does;
- the engine's timers fire at their due time as ``timer.fired`` (skipped once the state stopped expecting
  them), the scorer's wake-ups go to the scorer only (as the processor routes them);
- each send's ground-truth response (opens, clicks, a recovered purchase) is drawn at once and its
  events are queued at their own times, so the engine (wait_for, goals) and the bandit see them.

What the worker would produce is kept as it would reach the analytics writer: step records (trace +
cause), action records and every event, each with a position. Predicted events are dropped (no workflow
of the scenario reacts to scores).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Any

from engine.pending import pending_timers
from engine.step import TIMER_EVENT, step
from engine.types import ContactState, Event
from engine.workflows import WorkflowSet
from loadtest.generator import Traffic
from loadtest.rec_scenario import Response, respond
from loadtest.truth import Traits
from ml.labels import ML_TIMER_KIND
from ml.scoring import Scorer

EVENT, ENGINE_TIMER, ML_TIMER = 0, 1, 2


@dataclass
class Send:
    """One send action and its ground-truth response."""

    action: dict[str, Any]
    segment: str
    traits: Traits
    response: Response
    draw: int  # how many times this node had sent to the contact (for this cart), this one included
    bought_anyway: bool  # the contact buys the send's cart on its own


@dataclass
class WorldRun:
    events: list[Event] = field(default_factory=list)  # everything the worker consumed, in order
    step_records: list[dict[str, Any]] = field(default_factory=list)  # as produced to `analytics`
    actions: list[dict[str, Any]] = field(default_factory=list)
    sends: list[Send] = field(default_factory=list)
    trace: list[dict[str, Any]] = field(default_factory=list)
    states: dict[str, ContactState] = field(default_factory=dict)
    steps: int = 0
    scored: int = 0


def bought_carts(traffic: Traffic) -> set[str]:
    """Carts the contacts buy on their own in this traffic (the generator's purchases)."""
    return {
        str(e["properties"].get("cart_id"))
        for e in traffic.events
        if e["type"] == "purchase" and e["properties"].get("cart_id")
    }


def run_world(
    traffic: Traffic,
    events: list[Event],
    workflows: WorkflowSet,
    scorer: Scorer,
    *,
    seed: int,
    until: int,
    keep_records: bool = True,
) -> WorldRun:
    """Play ``events`` (the traffic's, possibly enriched; non-decreasing ts) and everything they cause up
    to ``until`` through the engine and ``scorer`` (which keeps learning: pass a copy to compare runs)."""
    out = WorldRun()
    bought = bought_carts(traffic)
    heap: list[tuple[int, int, int, Event]] = []
    serial = 0

    def push(ts: int, kind: int, event: Event) -> None:
        nonlocal serial
        serial += 1
        heapq.heappush(heap, (ts, serial, kind, event))

    for event in events:
        push(event["ts"], EVENT, event)
    queued: set[tuple[str, int, str]] = set()
    sent_before: dict[tuple[str, str, str, str], int] = {}  # sends per (workflow, contact, node, cart)
    states = out.states
    while heap and heap[0][0] <= until:
        ts, _, kind, event = heapq.heappop(heap)
        contact = event["contact_id"]
        state = states.get(contact)
        if kind == ML_TIMER:
            ml_state = (state or {}).get("ml") or {}
            if state is None or (ml_state.get("tm") or {}).get("token") != event["properties"]["token"]:
                continue  # superseded: the runtime no longer holds it
            _score(out, scorer, states, state, event, (), push)
            continue
        if kind == ENGINE_TIMER:
            token, due = event["properties"]["token"], event["properties"]["due"]
            if not any(p[0] == due and p[1] == token for p in pending_timers(state)):
                continue
        position = len(out.events)
        out.events.append(event)
        hints = scorer.first_hints(*_hinted(state), event)
        result = step(state, event, workflows, ts, hints)
        out.steps += 1
        new_state = result.state
        if keep_records:
            cause = {"event_id": event["event_id"], "event_type": event["type"], "source": f"0:{position}"}
            out.step_records += [{**r, **cause, "seq": i} for i, r in enumerate(result.trace)]
            out.actions += result.actions
        out.trace += result.trace
        for due, token, timer_kind in pending_timers(new_state):
            if (contact, due, token) not in queued:
                queued.add((contact, due, token))
                push(due, ENGINE_TIMER, _timer(contact, due, token, timer_kind))
        new_state = _score(out, scorer, states, new_state, event, result.actions, push)
        segment = str(new_state["profile"]["attrs"].get("segment", "all"))
        for action in result.actions:
            if action.get("channel") not in ("email", "sms", "push"):
                continue
            cart = str((action.get("params") or {}).get("cart_id") or "")
            where = (str(action["workflow_id"]), contact, str(action["node_id"]), cart)
            nth = sent_before[where] = sent_before.get(where, 0) + 1
            traits = traffic.truth[contact].traits
            anyway = bool(cart) and cart in bought
            response = respond(seed, action, (*where, nth), traits, segment, anyway)
            out.sends.append(Send(action, segment, traits, response, nth, anyway))
            for answer in response.events:
                push(answer["ts"], EVENT, answer)
    return out


def _hinted(state: ContactState | None) -> tuple[Any, Any, Any]:
    """(ml-state, profile, hints) of a contact's state, as Scorer.first_hints takes them."""
    if state is None:
        return None, None, None
    return state.get("ml"), state["profile"], state.get("hints")


def _score(
    out: WorldRun,
    scorer: Scorer,
    states: dict[str, ContactState],
    state: ContactState,
    event: Event,
    actions: Any,
    push: Any,
) -> ContactState:
    result = scorer.observe_with_hints(
        state.get("ml"), state["profile"], event, event["ts"], actions, state.get("hints")
    )
    out.scored += 1
    new_state = {**state, "ml": result.ml_state}
    if result.hints is not None:
        new_state["hints"] = result.hints
    states[event["contact_id"]] = new_state
    for request in result.timers:
        push(int(request["due"]), ML_TIMER, _timer(event["contact_id"], int(request["due"]),
                                                   str(request["token"]), ML_TIMER_KIND))  # fmt: skip
    return new_state


def _timer(contact: str, due: int, token: str, kind: str) -> Event:
    return {"event_id": f"timer:{token}:{due}", "contact_id": contact, "type": TIMER_EVENT, "ts": due,
            "properties": {"token": token, "due": due, "kind": kind, "fired_at": due}}  # fmt: skip
