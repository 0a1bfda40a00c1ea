"""Deterministic identifiers: blake2b over the parts that define the thing named.

Same inputs, same id, on every machine and every replay; that is what lets sinks drop duplicates.
"""

from __future__ import annotations

from hashlib import blake2b

_SEPARATOR = "\x1f"


def digest(*parts: object, size: int = 12) -> str:
    """Hex blake2b of the parts joined by a unit separator (``size`` bytes -> 2*size hex chars)."""
    return blake2b(_SEPARATOR.join(map(str, parts)).encode(), digest_size=size).hexdigest()


def run_id(contact_id: str, workflow_id: str, version: int, entry: str) -> str:
    """A run is named by who, which workflow version, and the event id or timer token that started it."""
    return digest("run", contact_id, workflow_id, version, entry)


def action_id(workflow_id: str, version: int, run: str, node_id: str, visit: int) -> str:
    return digest("action", workflow_id, version, run, node_id, visit)


def run_timer_token(run: str, node_id: str, visit: int, kind: str) -> str:
    return digest("timer", run, node_id, visit, kind)


def trigger_timer_token(contact_id: str, slot: str, due: int, cause: str) -> str:
    """Token of a trigger timer: the slot it arms, when, and the event/token that armed it."""
    return digest("trigger", contact_id, slot, due, cause)


def bucket(contact_id: str, workflow_id: str, version: int, node_id: str) -> int:
    """A stable number in [0, 10000) for A/B splits."""
    raw = blake2b(
        _SEPARATOR.join(("split", contact_id, workflow_id, str(version), node_id)).encode(), digest_size=8
    ).digest()
    return int.from_bytes(raw, "big") % 10_000
