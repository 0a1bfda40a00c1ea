"""The names of Switchyard's Kafka topics, shared by the worker, the sinks and the tools (names, and the
dead-letter topics' size limit)."""

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


# A dead-letter topic takes records twice as large as Kafka's default limit (1 MB): a record as large as
# its own topic took, with the reason's headers added, still fits, so its dead letter never holds a batch.
DEAD_LETTER_MAX_BYTES: Final = 2 * 1024 * 1024
DEAD_LETTER_CONFIG: Final = {"max.message.bytes": str(DEAD_LETTER_MAX_BYTES)}
