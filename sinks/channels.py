"""Channel names, topic names and the outcome event each channel reports."""

from __future__ import annotations

from typing import Final

from engine.topics import ACTION_CHANNELS as CHANNELS
from engine.topics import ACTIONS_DLQ as DLQ_TOPIC
from engine.topics import EVENTS as EVENTS_TOPIC
from engine.topics import TASKS as TASKS_TOPIC
from engine.topics import action_topic

__all__ = ["CHANNELS", "DLQ_TOPIC", "EVENTS_TOPIC", "FAILURE_EVENTS", "TASKS_TOPIC", "action_topic"]

# The event an action that finally failed reports, per channel (names from engine.profile).
FAILURE_EVENTS: Final = {
    "webhook": "webhook.failed",
    "email": "email.failed",
    "sms": "sms.failed",
    "push": "push.failed",
    "task": "action.failed",
    "notify": "notification.failed",
    "crm": "crm.failed",
    "document": "action.failed",
}
