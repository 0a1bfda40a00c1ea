"""Names and declarations of every topic the worker reads or writes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import faust

from engine.topics import (
    ACTION_CHANNELS,
    ANALYTICS,
    CONSENT,
    EVENTS,
    EVENTS_DLQ,
    RECOMMENDATIONS,
    WORKFLOWS,
    action_topic,
)

__all__ = [
    "ACTION_CHANNELS", "ANALYTICS", "CONSENT", "EVENTS", "EVENTS_DLQ", "RECOMMENDATIONS", "WORKFLOWS",
    "Topics", "action_topic",
]  # fmt: skip


def all_topic_names(prefix: str) -> list[str]:
    return [prefix + name for name in (EVENTS, EVENTS_DLQ, ANALYTICS, *map(action_topic, ACTION_CHANNELS))]


@dataclass(frozen=True)
class Topics:
    events: Any
    dlq: Any
    analytics: Any
    actions: dict[str, Any]


def declare_topics(app: faust.App, prefix: str, partitions: int) -> Topics:
    """Topics carry raw bytes: we decode with orjson ourselves, once, in the agent."""

    def raw(name: str) -> Any:
        return app.topic(
            prefix + name,
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
            partitions=partitions,
        )

    return Topics(
        events=raw(EVENTS),
        dlq=raw(EVENTS_DLQ),
        analytics=raw(ANALYTICS),
        actions={channel: raw(action_topic(channel)) for channel in ACTION_CHANNELS},
    )
