"""Local hour of the week of an epoch-ms time in a contact's timezone (0 = Monday 00:00-00:59).

Pure: a zone conversion is deterministic. Results are cached per (timezone, quarter hour), since every
zone offset in use is a multiple of 15 minutes; an unknown or missing timezone means UTC.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

HOURS_PER_WEEK = 168
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
QUARTER_MS = HOUR_MS // 4
UTC_NAME = "UTC"


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    """The zone called ``name``, or UTC when the name is not a known IANA zone."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(UTC_NAME)


def timezone_of(attrs: dict[str, object]) -> str:
    """The contact's ``timezone`` attribute if it is a string, else UTC."""
    value = attrs.get("timezone")
    return value if isinstance(value, str) and value else UTC_NAME


def hour_of_week(epoch_ms: int, timezone: str) -> int:
    """Local hour of the week, 0..167."""
    return _hour_of_quarter(timezone, epoch_ms // QUARTER_MS)


@lru_cache(maxsize=65_536)
def _hour_of_quarter(timezone: str, quarter: int) -> int:
    local = datetime.fromtimestamp(quarter * QUARTER_MS / 1000, zone(timezone))
    return local.weekday() * 24 + local.hour


def next_hour_start(epoch_ms: int, timezone: str, target_hour: int, horizon_hours: int) -> int:
    """The first time >= ``epoch_ms`` within ``horizon_hours`` whose local hour of the week is
    ``target_hour``: ``epoch_ms`` itself when it already is, else the start of that local hour.
    Falls back to ``epoch_ms`` when no such hour is in the horizon (a DST gap)."""
    if hour_of_week(epoch_ms, timezone) == target_hour:
        return epoch_ms
    hour_start = epoch_ms - epoch_ms % QUARTER_MS
    # step by quarter hours: zones with 30/45-minute offsets start their local hours off the UTC hour
    for step in range(1, horizon_hours * 4 + 1):
        candidate = hour_start + step * QUARTER_MS
        if hour_of_week(candidate, timezone) == target_hour:
            return candidate
    return epoch_ms
