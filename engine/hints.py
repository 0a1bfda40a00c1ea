"""The ML hints the worker keeps in the contact state under ``"hints"``; the engine only reads them.

``{"send_hours": [hour of week, ...] (best first, 0 = Monday 00:00-01:00 local ... 167),
"channel": "email" | "sms" | "push"}``. Any part may be missing (ML off, a new contact) or malformed; the
readers here then return nothing rather than raise, and the node falls back to its documented default.
"""

from __future__ import annotations

from typing import Any

from engine.timecalc import HOURS_PER_WEEK
from engine.types import ContactState

HINTS_KEY = "hints"
MAX_SEND_HOURS = 24  # the worker writes at most this many; more are ignored so a step stays cheap


def _hints(state: ContactState) -> dict[str, Any]:
    found = state.get(HINTS_KEY)
    return found if isinstance(found, dict) else {}


def ranked_send_hours(state: ContactState) -> list[tuple[int, int]]:
    """(rank, hour of week) of the hinted send hours, best first; rank is the 1-based list position, so an
    invalid entry is skipped without renumbering the others."""
    hours = _hints(state).get("send_hours")
    if not isinstance(hours, list):
        return []
    return [
        (rank, hour)
        for rank, hour in enumerate(hours[:MAX_SEND_HOURS], start=1)
        if isinstance(hour, int) and not isinstance(hour, bool) and 0 <= hour < HOURS_PER_WEEK
    ]


def channel_hint(state: ContactState) -> str | None:
    """The channel the channel-choice bandit picked for this contact, if any."""
    channel = _hints(state).get("channel")
    return channel if isinstance(channel, str) and channel else None
