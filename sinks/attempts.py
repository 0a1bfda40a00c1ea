"""One action from record to recorded outcome: dedupe, attempts with backoff, the final outcome.

The outcome (the records to produce) is written to the store before it is produced, so an action seen
again, after a crash or a rebalance, re-emits exactly the same records and is not executed again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from sinks.backoff import retry_delay_s
from sinks.channels import DLQ_TOPIC, EVENTS_TOPIC, FAILURE_EVENTS
from sinks.exceptions import MalformedAction, PermanentFailure, RetryableFailure
from sinks.handler import ChannelHandler
from sinks.ratelimit import TokenBucket
from sinks.records import (
    Action,
    Delivery,
    OutcomeEvent,
    OutRecord,
    dead_letter,
    outcome_event,
    parse_action,
    raw_text,
)
from sinks.settings import RetryPolicy
from sinks.store import SinkStore

log = logging.getLogger(__name__)
NO_ATTEMPT_LEFT = "every attempt was made and none ended with an outcome (did attempting kill the process?)"


def wall_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Counters:
    delivered: int = 0
    failed: int = 0
    dead_lettered: int = 0
    retries: int = 0
    duplicates: int = 0
    suppressed: int = 0


class ActionExecutor:
    """Turns one action record into the records that report its outcome."""

    def __init__(
        self,
        channel: str,
        handler: ChannelHandler,
        store: SinkStore,
        policy: RetryPolicy,
        bucket: TokenBucket,
        consent: Callable[[Action], str | None] | None = None,
    ) -> None:
        self.channel = channel
        self.handler = handler
        self.store = store
        self.policy = policy
        self.bucket = bucket
        self.consent = consent  # sinks/consent_view.py: why the contact may no longer be sent this
        self.counters = Counters()

    async def execute(self, key: bytes | None, value: bytes | None) -> list[OutRecord]:
        try:
            action = parse_action(value)
        except MalformedAction as exc:
            self.counters.dead_lettered += 1
            contact = (key or b"").decode("utf-8", "replace")
            reason = str(exc.details.get("reason", "malformed_action"))
            return [
                OutRecord(DLQ_TOPIC, contact, dead_letter(raw_text(value), 0, exc.message, wall_ms(), reason))
            ]
        stored = self.store.outcome(action.action_id)
        if stored is not None:
            self.counters.duplicates += 1
            return stored
        records = await self._attempt_until_done(action)
        self.store.record_outcome(action.action_id, records)
        return records

    async def _attempt_until_done(self, action: Action) -> list[OutRecord]:
        attempt = self.store.attempts_made(action.action_id)
        if attempt >= self.policy.max_attempts:  # its attempts ended without an outcome: the process died
            return self._failed(action, attempt, RetryableFailure(NO_ATTEMPT_LEFT))
        while True:
            attempt += 1
            self.store.record_attempt(action.action_id, attempt)
            refused = self.consent(action) if self.consent is not None else None
            if refused is not None:
                return self._suppressed(action, attempt, refused)
            await self.bucket.acquire()
            try:
                delivery = await self.handler.handle(action, attempt)
            except PermanentFailure as exc:
                return self._failed(action, attempt, exc)
            except RetryableFailure as exc:
                failure = exc
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bug or an unexpected library error: retried, then dead-lettered
                log.exception("%s: unexpected error on action %s", self.channel, action.action_id)
                failure = RetryableFailure(f"{type(exc).__name__}: {exc}")
            else:
                self.counters.delivered += 1
                return self._succeeded(action, attempt, delivery)
            if attempt >= self.policy.max_attempts:
                return self._failed(action, attempt, failure)
            self.counters.retries += 1
            delay = retry_delay_s(self.policy, action.action_id, attempt, failure.retry_after_s)
            log.info(
                "%s: action %s attempt %d failed (%s); retry in %.2fs",
                self.channel,
                action.action_id,
                attempt,
                failure,
                delay,
            )
            await asyncio.sleep(delay)

    def _succeeded(self, action: Action, attempts: int, delivery: Delivery) -> list[OutRecord]:
        now = wall_ms()
        events = [
            OutRecord(EVENTS_TOPIC, action.contact_id, outcome_event(action, outcome, now, attempts))
            for outcome in delivery.events
        ]
        return [*delivery.records, *events]

    def _suppressed(self, action: Action, attempts: int, reason: str) -> list[OutRecord]:
        """Not delivered: consent was withdrawn after the engine decided to send. An outcome, not an error."""
        self.counters.suppressed += 1
        log.info("%s: action %s suppressed: %s", self.channel, action.action_id, reason)
        outcome = OutcomeEvent(f"{self.channel}.suppressed", {"reason": reason})
        event = outcome_event(action, outcome, wall_ms(), attempts)
        return [OutRecord(EVENTS_TOPIC, action.contact_id, event)]

    def _failed(
        self, action: Action, attempts: int, failure: PermanentFailure | RetryableFailure
    ) -> list[OutRecord]:
        now = wall_ms()
        self.counters.failed += 1
        outcome_type = FAILURE_EVENTS[self.channel]
        to_dead_letter = True
        if isinstance(failure, PermanentFailure):
            outcome_type = failure.outcome or outcome_type
            to_dead_letter = failure.dead_letter
        properties = {"error": failure.message, **failure.details}
        if outcome_type == "action.failed":
            properties["action_type"] = action.type
        outcome = OutcomeEvent(outcome_type, properties)
        records = [OutRecord(EVENTS_TOPIC, action.contact_id, outcome_event(action, outcome, now, attempts))]
        if to_dead_letter:
            self.counters.dead_lettered += 1
            records.insert(
                0,
                OutRecord(
                    DLQ_TOPIC, action.contact_id, dead_letter(action.raw, attempts, failure.message, now)
                ),
            )
        log.warning(
            "%s: action %s failed after %d attempt(s): %s", self.channel, action.action_id, attempts, failure
        )
        return records
