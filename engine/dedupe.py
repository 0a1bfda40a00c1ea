"""Duplicate events applied once: each contact keeps a bounded record of the event ids it has applied.

Producers retry, and Kafka delivers at least once, so the same event (same `event_id` and `ts`) can
arrive twice with different offsets. The second one changes nothing: no count, no trigger, no wake-up,
no outcome; the step traces it as `ignored: duplicate`. The record holds the ids of the contact's events
from the last `WINDOW_MS` of event time (7 days), at most `MAX_IDS` (256) of them, each as a 64-bit hash,
so a contact's state grows by at most ~8 KB. A duplicate that arrives later than that, or after 256 newer
events of the same contact, is applied again.
"""

from __future__ import annotations

from hashlib import blake2b

from engine.types import ContactState, Event

STATE_KEY = "seen"  # {hashed event id: event time}
MAX_IDS = 256
WINDOW_MS = 7 * 86_400_000


def id_hash(event: Event) -> str:
    """The record's key: the event id with its event time (a timer's early delivery, refused by the
    engine, must not hide the real one, which has the same id and a later time)."""
    return blake2b(f"{event['event_id']}\x1f{event['ts']}".encode(), digest_size=8).hexdigest()


def is_duplicate(state: ContactState | None, event: Event) -> bool:
    if state is None:
        return False
    seen = state.get(STATE_KEY)
    return seen is not None and id_hash(event) in seen


def remember(state: ContactState, event: Event) -> None:
    """Record the event's id in ``state`` (a fresh dict of the step's own) with the bounds applied."""
    seen = dict(state.get(STATE_KEY) or {})
    seen[id_hash(event)] = event["ts"]
    if len(seen) > MAX_IDS:
        newest = max(seen.values())
        kept = sorted(
            ((ts, key) for key, ts in seen.items() if ts > newest - WINDOW_MS), reverse=True
        )[:MAX_IDS]
        seen = {key: ts for ts, key in kept}
    state[STATE_KEY] = seen
