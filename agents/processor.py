"""The processing agent's batch step: decode, dead-letter, fold each contact's events into its state.

One state read and one write per contact per batch. Each contact's state remembers the offset of the
last event applied to it, so a batch that is re-delivered after a crash changes nothing twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from engine.events import DAY_MS, Limits, Malformed, decode_event
from engine.profile import apply_event
from engine.types import ContactState, Event
from tables.contacts import ContactStore

log = logging.getLogger("switchyard.processor")
MAX_FUTURE_MS = DAY_MS  # events stamped more than a day ahead of the worker's clock are refused


@dataclass
class ProcessorStats:
    events: int = 0
    applied: int = 0
    replayed: int = 0
    dead_lettered: int = 0
    batches: int = 0
    dead_letter_reasons: dict[str, int] = field(default_factory=dict)


def dead_letter_headers(message: Any, problem: Malformed) -> list[tuple[str, bytes]]:
    return [
        ("x-switchyard-reason", problem.reason.encode()),
        ("x-switchyard-detail", problem.detail.encode("utf-8", "replace")),
        ("x-switchyard-source-topic", str(message.topic).encode()),
        ("x-switchyard-source-partition", str(message.partition).encode()),
        ("x-switchyard-source-offset", str(message.offset).encode()),
    ]


def fold_profile(state: ContactState, event: Event) -> ContactState:
    return {**state, "profile": apply_event(state["profile"], event)}


class EventProcessor:
    """Turns one batch of Faust events into state writes and dead letters."""

    def __init__(self, store: ContactStore, dlq: Any, limits: Limits) -> None:
        self.store = store
        self.dlq = dlq
        self.limits = limits
        self.stats = ProcessorStats()

    async def handle(self, batch: Sequence[Any]) -> None:
        limits = replace(self.limits, max_ts=min(self.limits.max_ts, int(time.time() * 1000) + MAX_FUTURE_MS))
        by_contact: dict[str, list[tuple[Any, Event]]] = {}
        stats = self.stats
        replayed_before = stats.replayed
        stats.batches += 1
        stats.events += len(batch)
        for item in batch:
            message = item.message
            decoded = decode_event(item.value, message.key, limits)
            if isinstance(decoded, Malformed):
                await self._dead_letter(message, decoded)
                continue
            by_contact.setdefault(decoded["contact_id"], []).append((item, decoded))
        for contact_id, items in by_contact.items():
            anchor = items[-1][0]  # any event of this contact: they all share its partition
            state = self.store.load(contact_id, anchor)
            changed = False
            for item, event in items:
                offset = item.message.offset
                if offset <= state["offset"]:
                    stats.replayed += 1
                    continue
                state = fold_profile(state, event)
                state["offset"] = offset
                stats.applied += 1
                changed = True
            if changed:
                self.store.save(state, anchor)
        if stats.replayed > replayed_before:
            log.info(
                "skipped %d already-applied event(s) (re-delivered offsets)", stats.replayed - replayed_before
            )

    async def _dead_letter(self, message: Any, problem: Malformed) -> None:
        self.stats.dead_lettered += 1
        reasons = self.stats.dead_letter_reasons
        reasons[problem.reason] = reasons.get(problem.reason, 0) + 1
        await self.dlq.send(
            key=message.key, value=message.value, headers=dead_letter_headers(message, problem)
        )
