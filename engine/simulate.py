"""Offline runs of the step machine: feed each contact's events through ``step`` in order, playing the
timer service too (every pending timer fires at its due time, before the contact's next event at or after
that time). Used by the accuracy oracle, the API's simulate and backtest endpoints, and tests.

Pure: time is the events' time and ``until``; nothing is read or written.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from engine.pending import pending_timers
from engine.step import TIMER_EVENT, step
from engine.types import ContactState, Event
from engine.workflows import WorkflowSet

Action = dict[str, Any]


class ContactReplay:
    """One contact's state driven through engine.step, collecting actions, timer requests and trace."""

    def __init__(self, workflows: WorkflowSet) -> None:
        self.workflows = workflows
        self.state: ContactState | None = None
        self.actions: list[Action] = []
        self.timers: list[dict[str, Any]] = []
        self.trace: list[dict[str, Any]] = []
        self.failures = 0

    def apply(self, event: Event) -> None:
        try:
            result = step(self.state, event, self.workflows, event["ts"])
        except Exception:  # the runtime dead-letters the event and keeps the state; so do we
            self.failures += 1
            return
        self.state = result.state
        self.actions.extend(result.actions)
        self.timers.extend(result.timers)
        self.trace.extend(result.trace)


def expected_actions(
    events_by_contact: Mapping[str, Sequence[Event]], workflows: WorkflowSet
) -> list[Action]:
    """Every action the runtime should have emitted for these per-contact sequences (arrival order,
    `timer.fired` included), contact by contact in id order."""
    out: list[Action] = []
    for contact in sorted(events_by_contact):
        replay = ContactReplay(workflows)
        for event in events_by_contact[contact]:
            replay.apply(event)
        out.extend(replay.actions)
    return out


def timer_event(contact_id: str, due: int, token: str, kind: str) -> Event:
    """A wake-up as the timer service produces it, fired exactly at its due time."""
    return {
        "event_id": f"timer:{token}",
        "contact_id": contact_id,
        "type": TIMER_EVENT,
        "ts": due,
        "properties": {"token": token, "due": due, "kind": kind, "fired_at": due},
    }


class TimedReplay(ContactReplay):
    """A ContactReplay that also plays the timer service: every timer the state expects is queued, and
    ``run_until`` fires those due by then, in (due, token) order, as `timer.fired` at their due time."""

    def __init__(self, workflows: WorkflowSet, contact_id: str) -> None:
        super().__init__(workflows)
        self.contact_id = contact_id
        self.delivered: list[Event] = []
        self.queue: list[tuple[int, str, str]] = []  # (due, token, kind)
        # A wake-up is its (due, token): a run restarted with the same id asks for the same token again,
        # later, and must be woken again as the timer service would.
        self.queued: set[tuple[int, str]] = set()
        self.fired = 0

    def apply(self, event: Event) -> None:
        super().apply(event)
        self.delivered.append(event)
        for due, token, kind in pending_timers(self.state):
            if (due, token) not in self.queued:
                self.queued.add((due, token))
                heapq.heappush(self.queue, (due, token, kind))

    def run_until(self, moment: int) -> None:
        while self.queue and self.queue[0][0] <= moment:
            due, token, kind = heapq.heappop(self.queue)
            # A token the state no longer expects would only be ignored by step(): skip it.
            if any(token == pending[1] and due == pending[0] for pending in pending_timers(self.state)):
                self.fired += 1
                self.apply(timer_event(self.contact_id, due, token, kind))


class Simulation(NamedTuple):
    actions: list[Action]
    delivered: dict[str, list[Event]]  # per contact, what was fed to step (wake-ups included)
    timers_fired: int


class ContactRun(NamedTuple):
    """What one contact went through in a simulation."""

    contact_id: str
    actions: list[Action]
    timers: list[dict[str, Any]]  # every timer requested, fired or not
    trace: list[dict[str, Any]]
    state: ContactState | None
    delivered: list[Event]  # what was fed to step, wake-ups included
    timers_fired: int


def simulate_contacts(events: Iterable[Event], workflows: WorkflowSet, until: int) -> list[ContactRun]:
    """Run the events (in the given order per contact) with timer wake-ups interleaved by time: a timer
    due at or before an event's ts fires first; the remaining ones fire up to ``until`` (inclusive).
    One result per contact, in contact id order."""
    by_contact: dict[str, list[Event]] = {}
    for event in events:
        by_contact.setdefault(event["contact_id"], []).append(event)
    runs: list[ContactRun] = []
    for contact in sorted(by_contact):
        replay = TimedReplay(workflows, contact)
        for event in by_contact[contact]:
            replay.run_until(event["ts"])
            replay.apply(event)
        replay.run_until(until)
        runs.append(
            ContactRun(contact, replay.actions, replay.timers, replay.trace, replay.state,
                       replay.delivered, replay.fired)
        )  # fmt: skip
    return runs


def simulate(events: Iterable[Event], workflows: WorkflowSet, until: int) -> Simulation:
    """All contacts of ``simulate_contacts`` folded together: actions in contact order."""
    runs = simulate_contacts(events, workflows, until)
    return Simulation(
        [action for run in runs for action in run.actions],
        {run.contact_id: run.delivered for run in runs},
        sum(run.timers_fired for run in runs),
    )
