"""Duplicate events applied once: each contact keeps a bounded record of the events it has applied.

Producers retry, and Kafka delivers at least once, so the same event (same `event_id` and `ts`) can
arrive twice with different offsets. The second one changes nothing: no count, no trigger, no wake-up,
no outcome; the step traces it as `ignored: duplicate`. The record holds the contact's last `MAX_IDS`
(256) events as 48-bit hashes in one string (3 KB at most), so copying it per step costs next to nothing.
A duplicate that arrives after 256 newer events of the same contact is applied again.
"""

from __future__ import annotations

from hashlib import blake2b

from engine.types import ContactState, Event

STATE_KEY = "seen"
MAX_IDS = 256
WIDTH = 12  # hex characters per entry


def event_key(event: Event) -> str:
    """The record's entry for an event: its id with its event time (a timer's early delivery, refused by
    the engine, must not hide the real one, which has the same id and a later time)."""
    return blake2b(f"{event['event_id']}\x1f{event['ts']}".encode(), digest_size=WIDTH // 2).hexdigest()


def _record(state: ContactState | None) -> str:
    seen = state.get(STATE_KEY) if state is not None else None
    return seen if isinstance(seen, str) else ""


def is_duplicate(state: ContactState | None, key: str) -> bool:
    seen = _record(state)
    at = seen.find(key)
    while at != -1:
        if at % WIDTH == 0:
            return True
        at = seen.find(key, at + 1)
    return False


def remember(state: ContactState, key: str) -> None:
    """Record ``key`` in ``state`` (a fresh dict of the step's own), keeping the last MAX_IDS entries."""
    seen = _record(state) + key
    state[STATE_KEY] = seen if len(seen) <= MAX_IDS * WIDTH else seen[-MAX_IDS * WIDTH :]
