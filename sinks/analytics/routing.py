"""Which topics the writer reads, and which decoder turns a record of each into rows."""

from __future__ import annotations

import re
from typing import Any

from engine.actions import CHANNELS
from engine.events import Limits
from engine.topics import RECOMMENDATIONS  # written by the API: shown, applied, dismissed recommendations
from sinks.analytics.exceptions import UnusableRecord
from sinks.analytics.records import (
    Rejected,
    TableRows,
    action_rows,
    event_rows,
    recommendation_rows,
    step_rows,
    task_rows,
)

EVENTS = "events"
ANALYTICS = "analytics"
TASKS = "tasks"  # written by the task sink; read when it exists


class TopicRouter:
    def __init__(self, prefix: str, max_event_bytes: int) -> None:
        self.prefix = prefix
        self.limits = Limits(max_bytes=max_event_bytes)

    def pattern(self) -> str:
        """A subscription pattern for every topic we read, so topics created later are picked up too."""
        channels = "|".join(sorted(re.escape(c) for c in CHANNELS))
        names = "|".join((EVENTS, ANALYTICS, TASKS, RECOMMENDATIONS))
        return f"^{re.escape(self.prefix)}({names}|actions\\.({channels}))$"

    def topics(self) -> list[str]:
        names = [EVENTS, ANALYTICS, TASKS, RECOMMENDATIONS, *(f"actions.{c}" for c in sorted(CHANNELS))]
        return [self.prefix + name for name in names]

    def rows(self, message: Any) -> tuple[TableRows, list[Rejected]]:
        """Rows of one aiokafka ConsumerRecord, and the values of a pack that cannot become rows; raises
        UnusableRecord for a record to skip whole."""
        name = message.topic[len(self.prefix) :]
        if name == ANALYTICS:
            return step_rows(message.value, message.partition, message.offset)
        return self._single_rows(name, message), []

    def _single_rows(self, name: str, message: Any) -> TableRows:
        if name == EVENTS:
            return event_rows(message.value, message.key, message.partition, message.offset, self.limits)
        if name.startswith("actions."):
            return action_rows(message.value, message.partition, message.offset)
        if name == TASKS:
            return task_rows(message.value, int(message.timestamp))
        if name == RECOMMENDATIONS:
            return recommendation_rows(message.value)
        raise UnusableRecord(f"no decoder for topic {message.topic}")
