"""Dates inside conditions: ISO text and epoch milliseconds to one number, and local wall time per time zone.

Every time in a condition is an int of epoch milliseconds (UTC). ISO dates without a time are midnight
UTC; datetimes without an offset are taken as UTC. Nothing here reads a clock.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MS: Final = timedelta(milliseconds=1)
MAX_ISO_LENGTH: Final = 40


@lru_cache(maxsize=4096)
def parse_iso(text: str) -> int | None:
    """Epoch ms of an ISO 8601 date or datetime ("2026-01-31", "2026-01-31T09:30:00Z"), else None."""
    candidate = text.strip()
    if not 8 <= len(candidate) <= MAX_ISO_LENGTH or not candidate[:4].isdigit() or not candidate.isascii():
        return None
    try:
        moment = datetime.fromisoformat(candidate)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return (moment - EPOCH) // ONE_MS
    except (OverflowError, ValueError):
        return None


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo | timezone:
    """The IANA zone called ``name``, or UTC when it is unknown or malformed (so results stay defined)."""
    if not name or len(name) > 64 or not name.isascii():
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return UTC


def local_time(ms: int | float, zone_name: object) -> datetime | None:
    """Wall-clock time at ``ms`` in the named zone (UTC when the name is missing or unknown)."""
    tz = zone(zone_name) if isinstance(zone_name, str) else UTC
    if isinstance(ms, float):
        if not math.isfinite(ms):
            return None
        ms = int(ms)
    seconds, millis = divmod(ms, 1000)
    try:
        # With an explicit zone this is pure arithmetic (UTC conversion, then the zone's rules).
        wall = datetime.fromtimestamp(seconds, tz)
    except (OverflowError, OSError, ValueError):
        return None
    # Zone transitions fall on whole seconds, so adding the sub-second part cannot cross one.
    return wall + timedelta(milliseconds=millis) if millis else wall
