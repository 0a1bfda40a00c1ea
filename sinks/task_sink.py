"""The task channel: create a task (title, assignee, due time, links back to contact and workflow),
assigned to ``params.assignee`` or round-robin over ``params.team``.

A task is a row of the compacted ``tasks`` topic keyed by task id (= the action id), which the analytics
writer ingests and ``switchyard tasks list`` reads; the outcome event is ``task.created``.
"""

from __future__ import annotations

from typing import Any

from engine.durations import DurationError, parse_duration
from sinks.attempts import wall_ms
from sinks.channels import TASKS_TOPIC
from sinks.exceptions import PermanentFailure
from sinks.records import Action, Delivery, OutcomeEvent, OutRecord
from sinks.teams import RoundRobin

LINK_PARAMS = ("document_id", "deal_id", "cart_id", "order_id")


def due_at(action: Action) -> int | None:
    params = action.params
    if isinstance(params.get("due_at"), int):
        return int(params["due_at"])
    if "due" in params and action.ts is not None:
        due = params["due"]
        if not isinstance(due, str):
            raise PermanentFailure(f"bad due {due!r}: a duration such as '2d' or '4h'")
        try:
            return action.ts + parse_duration(due)
        except DurationError as exc:
            raise PermanentFailure(f"bad due {due!r}: {exc}") from None
    return None


class TaskHandler:
    channel = "task"

    def __init__(self, round_robin: RoundRobin) -> None:
        self.round_robin = round_robin

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def handle(self, action: Action, attempt: int) -> Delivery:
        params = action.params
        title = params.get("title")
        if not isinstance(title, str) or not title:
            raise PermanentFailure("task has no title")
        team = params.get("team") if isinstance(params.get("team"), str) else None
        assignee = params.get("assignee") if isinstance(params.get("assignee"), str) else None
        if not assignee:
            if not team:
                raise PermanentFailure("task has neither assignee nor team")
            assignee = self.round_robin.assign(team, action.action_id)
        task: dict[str, Any] = {
            "task_id": action.action_id,
            "title": title,
            "assignee": assignee,
            "team": team,
            "due_at": due_at(action),
            "priority": params.get("priority"),
            "status": "open",
            "created_at": wall_ms(),
            "contact_id": action.contact_id,
            **{key: action.raw.get(key) for key in ("workflow_id", "version", "run_id", "node_id")},
            "action_id": action.action_id,
            "links": {key: params[key] for key in LINK_PARAMS if key in params},
        }
        summary = {k: task[k] for k in ("task_id", "title", "assignee", "team", "due_at", "priority")}
        return Delivery(
            [OutcomeEvent("task.created", summary)], [OutRecord(TASKS_TOPIC, task["task_id"], task)]
        )
