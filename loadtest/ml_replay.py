"""Play a time-ordered event stream through the profile fold and an ml Scorer, the way the worker would.

The runtime's part is imitated in process: each contact keeps its profile, ml-state and hints, the ml
wake-up a state asks for is kept in a heap and delivered as a ``timer.fired`` event (kind ``ml_label``,
event time = due time) before any later event, a superseded wake-up is dropped (the runtime derives its
timers from the state), and predicted events are folded back into the profile (so ``scores`` follow).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from engine.profile import apply_event
from engine.types import Event, Profile
from ml.hints import Hints
from ml.labels import ML_TIMER_KIND
from ml.scoring import Scorer
from ml.state import MLState

PredictedObserver = Callable[[Event], None]


@dataclass
class Replay:
    """The contacts' state after a replay, and counts of what happened."""

    profiles: dict[str, Profile] = field(default_factory=dict)
    ml_states: dict[str, MLState] = field(default_factory=dict)
    hints: dict[str, Hints] = field(default_factory=dict)
    events: int = 0
    wakeups: int = 0
    predicted: int = 0
    timer_requests: int = 0


def wakeup_event(contact_id: str, due: int, token: str) -> Event:
    return {
        "event_id": f"timer:{token}",
        "contact_id": contact_id,
        "type": "timer.fired",
        "ts": due,
        "properties": {"token": token, "due": due, "kind": ML_TIMER_KIND, "fired_at": due},
    }


def replay(
    events: Iterable[Event],
    scorer: Scorer,
    *,
    until: int | None = None,
    into: Replay | None = None,
    on_predicted: PredictedObserver | None = None,
) -> Replay:
    """Feed ``events`` (non-decreasing ts) and due wake-ups to ``scorer``; wake-ups due up to ``until``
    (default: the last event's time) fire after the last event. ``into`` continues an earlier replay."""
    result = into if into is not None else Replay()
    heap: list[tuple[int, str, str]] = [
        (state["tm"]["due"], state["tm"]["token"], contact)
        for contact, state in result.ml_states.items()
        if state.get("tm")
    ]
    heapq.heapify(heap)
    last_ts = 0

    def deliver(event: Event) -> None:
        contact = event["contact_id"]
        profile = apply_event(result.profiles.get(contact), event)
        state, predicted, timers, hints = scorer.observe_with_hints(
            result.ml_states.get(contact), profile, event, event["ts"], (), result.hints.get(contact)
        )
        if hints is not None:
            result.hints[contact] = hints
        for item in predicted:
            profile = apply_event(profile, item)
            result.predicted += 1
            if on_predicted is not None:
                on_predicted(item)
        result.profiles[contact] = profile
        result.ml_states[contact] = state
        for request in timers:
            heapq.heappush(heap, (request["due"], request["token"], contact))
            result.timer_requests += 1

    def fire_until(ts: int) -> None:
        while heap and heap[0][0] <= ts:
            due, token, contact = heapq.heappop(heap)
            current = result.ml_states[contact].get("tm")
            if current is None or current["token"] != token:
                continue  # superseded: the runtime no longer holds it
            result.wakeups += 1
            deliver(wakeup_event(contact, due, token))

    for event in events:
        fire_until(event["ts"] - 1)
        deliver(event)
        result.events += 1
        last_ts = event["ts"]
    fire_until(until if until is not None else last_ts)
    return result
