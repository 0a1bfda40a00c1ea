"""The names of Switchyard's Kafka topics, shared by the worker, the sinks and the tools (names only)."""

from __future__ import annotations

from typing import Final

from engine.actions import CHANNELS

EVENTS: Final = "events"
EVENTS_DLQ: Final = "events.dlq"
ANALYTICS: Final = "analytics"
WORKFLOWS: Final = "workflows"
ACTIONS_DLQ: Final = "actions.dlq"
TASKS: Final = "tasks"
RECOMMENDATIONS: Final = "recommendations"  # shown/applied/dismissed workflow recommendations (the API)
CONSENT: Final = "consent"  # compacted, keyed by contact: engine.consent.consent_record when it changes
# Every channel an action can go out on, in the order tools list them.
ACTION_CHANNELS: Final = ("email", "sms", "push", "webhook", "task", "notify", "crm", "document")
assert frozenset(ACTION_CHANNELS) == CHANNELS, "engine/topics.py is out of step with engine/actions.py"


def action_topic(channel: str) -> str:
    return f"actions.{channel}"
