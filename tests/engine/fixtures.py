"""Shared test helpers for the engine: example loading, events, and a harness that plays the runtime
(keeps the contact state, delivers due timers back as timer.fired events in time order)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from engine.durations import DAY, HOUR, MINUTE
from engine.model import Workflow
from engine.step import StepResult, step
from engine.types import ContactState, Event
from engine.validation import load_workflow
from engine.workflows import WorkflowSet

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "workflows"
T0 = 1_767_261_600_000  # 2026-01-01T10:00:00Z, a Thursday
EXAMPLE_NAMES = (
    "lead_nurturing",
    "re_engagement",
    "pricing_page_follow_up",
    "pricing_page_three_visits",
    "welcome_series",
    "abandoned_cart",
    "post_purchase",
    "drip_campaign",
    "task_automation",
    "stale_lead_alert",
    "deadline_reminder",
    "document_workflow",
    "best_time_nudge",
)
__all__ = ["DAY", "HOUR", "MINUTE", "T0", "Harness", "example", "example_set", "make_event", "workflow_text"]


def example(name: str) -> Workflow:
    return load_workflow(EXAMPLES / f"{name}.yaml")


def example_set(*names: str) -> WorkflowSet:
    return WorkflowSet(example(name) for name in (names or EXAMPLE_NAMES))


def make_event(
    event_type: str, ts: int, contact_id: str = "c1", event_id: str | None = None, **properties: Any
) -> Event:
    return {
        "event_id": event_id or f"{event_type}@{ts}",
        "contact_id": contact_id,
        "type": event_type,
        "ts": ts,
        "properties": properties,
    }


def timer_event(timer: dict[str, Any]) -> Event:
    return {
        "event_id": f"timer:{timer['token']}",
        "contact_id": timer["contact_id"],
        "type": "timer.fired",
        "ts": timer["due"],
        "properties": {"token": timer["token"], "due": timer["due"], "fired_at": timer["due"]},
    }


def workflow_text(body: str, **top: Any) -> str:
    """A minimal definition around a ``nodes`` body (YAML, indented two spaces)."""
    header = {"id": "t", "version": 1, "status": "published", "trigger": "{event: go}", "start": "a"}
    header.update(top)
    lines = [f"{key}: {value}" for key, value in header.items()]
    return "\n".join(lines) + "\nnodes:\n" + body


class Harness:
    """Drives one contact through step(), delivering every requested timer when its time comes."""

    def __init__(self, workflows: WorkflowSet, contact_id: str = "c1", now: int = T0) -> None:
        self.workflows = workflows
        self.contact_id = contact_id
        self.now = now
        self.state: ContactState | None = None
        self.pending: list[dict[str, Any]] = []
        self.actions: list[dict[str, Any]] = []
        self.timers: list[dict[str, Any]] = []
        self.trace: list[dict[str, Any]] = []
        self.counter = 0

    def apply(self, event: Event) -> StepResult:
        result = step(self.state, event, self.workflows, event["ts"])
        self.state = result.state
        self.actions.extend(result.actions)
        self.timers.extend(result.timers)
        self.trace.extend(result.trace)
        self.pending.extend(result.timers)
        self.pending.sort(key=lambda t: (t["due"], t["token"]))
        return result

    def send(self, event_type: str, at: int | None = None, **properties: Any) -> StepResult:
        """An event of the contact at ``at`` (default: now); due timers before it are delivered first."""
        when = self.now if at is None else at
        self.run_until(when)
        self.counter += 1
        self.now = when
        return self.apply(make_event(event_type, when, self.contact_id, f"e{self.counter}", **properties))

    def run_until(self, until: int) -> list[StepResult]:
        """Deliver every pending timer due at or before ``until`` (stale ones too, like the runtime)."""
        results = []
        while self.pending and self.pending[0]["due"] <= until:
            timer = self.pending.pop(0)
            self.now = max(self.now, timer["due"])
            results.append(self.apply(timer_event(timer)))
        self.now = max(self.now, until)
        return results

    def live_runs(self) -> dict[str, Any]:
        runs: dict[str, Any] = (self.state or {}).get("runs") or {}
        return runs

    def sent(self, since: int = 0) -> list[tuple[str, str, int]]:
        """(node_id, action type, ms after T0) of actions emitted so far."""
        return [(a["node_id"], a["type"], a["ts"] - T0) for a in self.actions if a["ts"] >= since]

    def requested(self) -> list[tuple[str | None, str, int]]:
        return [(t["node_id"], t["kind"], t["due"] - T0) for t in self.timers]

    def transitions(self, workflow_id: str | None = None) -> list[tuple[str | None, str]]:
        return [
            (e["node_id"], e["transition"])
            for e in self.trace
            if workflow_id is None or e["workflow_id"] == workflow_id
        ]


def run_events(workflows: WorkflowSet, events: Iterable[Event]) -> list[StepResult]:
    state: ContactState | None = None
    results = []
    for event in events:
        result = step(state, event, workflows, event["ts"])
        state = result.state
        results.append(result)
    return results


NODE_TRANSITIONS = frozenset(
    {"waited", "branched", "split", "acted", "applied", "skipped", "capped", "goal", "exited"}
)


def node_visits(trace: Iterable[dict[str, Any]]) -> list[str]:
    """Node ids of the per-visit trace entries (lifecycle entries such as entered/resumed left out)."""
    return [e["node_id"] for e in trace if e["transition"] in NODE_TRANSITIONS and e["node_id"] is not None]


def sixty_node_definition() -> tuple[str, list[str]]:
    """A 60-node workflow (11 blocks of action/branch/two arms/wait, then a nested-branch tail) and the
    node path a contact with plan 'pro' takes through it."""
    lines = [
        "id: sixty",
        "version: 1",
        "status: published",
        "trigger: {event: go}",
        "start: act_0",
        "settings: {max_steps: 200}",
        "nodes:",
    ]
    path: list[str] = []
    for i in range(11):
        after = f"act_{i + 1}" if i < 10 else "tail_branch"
        lines += [
            f"  act_{i}: {{type: action, action: send_email, params: {{template: step_{i}}}, next: br_{i}}}",
            f"  br_{i}:",
            "    type: branch",
            f"    branches: [{{when: \"contact.plan == 'pro'\", next: yes_{i}}}]",
            f"    default: no_{i}",
            f"  yes_{i}: {{type: action, action: add_tag, params: {{tag: t{i}}}, next: wait_{i}}}",
            f"  no_{i}: {{type: action, action: send_sms, params: {{body: s{i}}}, next: wait_{i}}}",
            f"  wait_{i}: {{type: wait, duration: 1h, next: {after}}}",
        ]
        path += [f"act_{i}", f"br_{i}", f"yes_{i}", f"wait_{i}"]
    lines += [
        "  tail_branch:",
        "    type: branch",
        "    branches: [{when: \"contact.plan == 'pro'\", next: tail_inner}]",
        "    default: tail_other",
        "  tail_inner:",
        "    type: branch",
        "    branches: [{when: \"'t3' in contact.tags\", next: tail_action}]",
        "    default: tail_other",
        "  tail_other: {type: action, action: send_sms, params: {body: other}, next: tail_action}",
        "  tail_action: {type: action, action: send_email, params: {template: last}, next: done}",
        "  done: {type: exit, reason: finished}",
    ]
    path += ["tail_branch", "tail_inner", "tail_action", "done"]
    return "\n".join(lines) + "\n", path
