"""The contacts' consent as the worker last published it, for a last check just before delivery.

The worker writes `engine.consent.consent_record` to the compacted `consent` topic (keyed by contact)
whenever a contact's consent changes. Each sink process follows that topic (tables/follower.py) into a
dict of the contacts that have any consent record, and a marketing send on a contact channel (email,
sms, push) to a contact who has since unsubscribed, bounced or complained is not delivered: the engine
decided to send before it knew, for example while the action waited for a retry or in the sink's backlog.
The rule is the engine's own (`engine.consent.refusal_of`); transactional sends are never held.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson

from engine.consent import refusal_of
from sinks.records import Action
from tables.follower import TopicFollower

log = logging.getLogger(__name__)


class ConsentView:
    def __init__(self, bootstrap: str, topic: str) -> None:
        self.records: dict[str, dict[str, Any]] = {}
        self.follower = TopicFollower(bootstrap, topic, self.apply)

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            return
        contact_id = key.decode("utf-8", "replace")
        if value is None:
            self.records.pop(contact_id, None)
            return
        try:
            record = orjson.loads(value)
        except orjson.JSONDecodeError:
            log.error("consent record of %s is not JSON; the engine's own check still applies", contact_id)
            return
        if isinstance(record, dict):
            self.records[contact_id] = record

    def refusal(self, action: Action) -> str | None:
        """Why ``action`` may not be delivered now, or None."""
        record = self.records.get(action.contact_id)
        return None if record is None else refusal_of(record, action.channel, action.params)

    async def run(self) -> None:
        await self.follower.run()
