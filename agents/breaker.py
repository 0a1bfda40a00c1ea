"""What the worker does when the circuit breaker (engine/breaker.py) trips: pause the workflow through the
catalog, tell the ops team, and leave a step record saying why.

Three records, all sent with a batch's effects (in Kafka before the batch's offsets are committed):
- the catalog record `<id>@<version>` with `status: paused` (what `switchyard workflows pause` writes),
  also applied to this worker's catalog at once so the next batch starts no run of it;
- a `notify` action to team `ops` (SWITCHYARD_TEAMS names its members), with a deterministic id;
- an analytics step record, transition `paused`, with the reason (the builder's and the API's trace).
`switchyard workflows resume <id>` resumes it; the breaker then counts that workflow afresh.

The pause applies locally at once, so a batch processed again does not trip again: a trip's records are
kept until a batch that carried them is written, and every batch computed until then carries them (the
processor's `hand_over` and `delivered`). A copy sent twice changes nothing: the catalog record is the same
record again, the notice has a deterministic action id and the step record is named by its content.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import orjson

from engine.breaker import BreakerSettings, CircuitBreaker, Trip
from engine.ids import digest
from engine.step import StepResult
from engine.types import Event
from engine.workflows import WorkflowSet

log = logging.getLogger("switchyard.breaker")
NOTIFY_TEAM = "ops"
Send = Callable[[str, bytes | None, bytes], None]
Record = tuple[str, bytes | None, bytes]  # topic, key, value


class BreakerGuard:
    def __init__(self, catalog_topic: str, notify_topic: str, analytics_topic: str,
                 settings: BreakerSettings | None = None) -> None:  # fmt: skip
        self.breaker = CircuitBreaker(settings or BreakerSettings())
        self.catalog_topic = catalog_topic
        self.notify_topic = notify_topic
        self.analytics_topic = analytics_topic
        self.trips_total = 0
        self.undelivered: list[Record] = []  # trips' records no written batch has carried yet

    def follow(self, workflows: WorkflowSet) -> None:
        """Count afresh a tripped workflow that was resumed since (published again)."""
        for workflow_id in list(self.breaker.tripped):
            head = workflows.governing.get(workflow_id)
            if head is None or head.status == "published":
                self.breaker.reset(workflow_id)

    def observe(
        self, workflows: WorkflowSet, event: Event, result: StepResult, apply: Callable[[bytes, bytes], None]
    ) -> None:
        """Count one step; on a trip, ``apply`` the pause locally and keep the three records to hand over."""
        for trip in self.breaker.observe_step(event, result.trace, result.actions):
            head = workflows.governing.get(trip.workflow_id)
            if head is None or head.status != "published":
                continue
            self.trips_total += 1
            log.error("workflow %s v%d paused: %s", head.id, head.version, trip.reason)
            key = f"{head.id}@{head.version}".encode()
            value = orjson.dumps({**head.definition, "status": "paused"})
            apply(key, value)
            self.undelivered += [
                (self.catalog_topic, key, value),
                (self.notify_topic, key, orjson.dumps(_notification(trip, head.id, head.version))),
                (self.analytics_topic, key, orjson.dumps(_step_record(trip, head.id, head.version))),
            ]

    def hand_over(self, send: Send) -> tuple[Record, ...]:
        """``send`` every trip's records not yet delivered (with the batch being computed); returns them,
        for `delivered` once that batch is written."""
        for topic, key, value in self.undelivered:
            send(topic, key, value)
        return tuple(self.undelivered)

    def delivered(self, records: tuple[Record, ...]) -> None:
        """A batch that carried ``records`` is written: they are in Kafka."""
        if records:
            self.undelivered = [record for record in self.undelivered if record not in records]


def _notification(trip: Trip, workflow_id: str, version: int) -> dict[str, Any]:
    return {
        "action_id": digest("breaker", workflow_id, version, trip.kind, trip.window_start),
        "channel": "notify",
        "type": "notify",
        "contact_id": f"workflow:{workflow_id}",
        "workflow_id": workflow_id,
        "version": version,
        "run_id": None,
        "node_id": None,
        "ts": trip.window_start,
        "params": {
            "team": NOTIFY_TEAM,
            "reason": "circuit_breaker",
            "message": f"Workflow {workflow_id} v{version} was paused by the {trip.reason.split(':')[0]}: "
            f"{trip.reason}. Resume it with `switchyard workflows resume {workflow_id}` once it is fixed.",
        },
    }


def _step_record(trip: Trip, workflow_id: str, version: int) -> dict[str, Any]:
    return {
        "ts": trip.window_start,
        "contact_id": f"workflow:{workflow_id}",
        "workflow_id": workflow_id,
        "version": version,
        "run_id": None,
        "node_id": None,
        "transition": "paused",
        "reason": trip.reason,
        "event_id": digest("breaker-step", workflow_id, version, trip.kind, trip.window_start),
        "event_type": "circuit_breaker",
        "seq": 0,
    }
