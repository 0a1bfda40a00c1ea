"""Calendar arithmetic in a contact's timezone: times of day, weekdays, quiet hours, date values.

Everything takes and returns epoch milliseconds; no clock is read here.
"""

from __future__ import annotations

import re
from datetime import UTC as UTC
from datetime import date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.durations import DAY, MINUTE

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HOURS_PER_WEEK = 7 * 24
_TIME_OF_DAY = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def zone(name: object) -> tzinfo:
    """The IANA zone ``name``, or UTC when it is missing, unknown or not a string (a contact attribute may
    be anything: checked before the cache, which could not hash a list)."""
    if not name or not isinstance(name, str):
        return UTC
    return _named_zone(name)


@lru_cache(maxsize=1024)
def _named_zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def is_known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def contact_zone(attrs: dict[str, Any]) -> tzinfo:
    return zone(attrs.get("timezone"))


def parse_time_of_day(text: str) -> int:
    """ "HH:MM" -> minutes after midnight. Raises ValueError."""
    match = _TIME_OF_DAY.match(text.strip()) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"not a time of day: {text!r} (use HH:MM, 24-hour, e.g. 09:00 or 21:30)")
    return int(match.group(1)) * 60 + int(match.group(2))


def parse_weekday(text: str) -> int:
    """ "mon".."sun" (or full names) -> 0..6. Raises ValueError."""
    key = text.strip().lower()[:3] if isinstance(text, str) else ""
    if key not in WEEKDAYS:
        raise ValueError(f"not a day of the week: {text!r} (use mon, tue, wed, thu, fri, sat, sun)")
    return WEEKDAYS.index(key)


def _local(ms: int, tz: tzinfo) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz)


def _to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _at(day: date, minutes: int, tz: tzinfo) -> int:
    return _to_ms(datetime.combine(day, time(minutes // 60, minutes % 60), tz))


def next_time_of_day(now: int, minutes: int | None, days: frozenset[int] | None, tz: tzinfo) -> int:
    """The first moment >= now at local ``minutes`` on an allowed weekday.

    With ``minutes`` None: now if today is an allowed day, else the next allowed day's local midnight.
    """
    local = _local(now, tz)
    today = local.date()
    for ahead in range(0, 8):
        day = today + timedelta(days=ahead)
        if days is not None and day.weekday() not in days:
            continue
        if minutes is None:
            return now if ahead == 0 else _at(day, 0, tz)
        candidate = _at(day, minutes, tz)
        if candidate >= now:
            return candidate
    return now + DAY  # unreachable with at least one allowed day


def in_quiet_hours(now: int, start: int, end: int, tz: tzinfo) -> bool:
    local = _local(now, tz)
    minute = local.hour * 60 + local.minute
    if start == end:
        return False
    if start < end:
        return start <= minute < end
    return minute >= start or minute < end


def next_time_after(now: int, minutes: int, tz: tzinfo) -> int:
    """The next local ``minutes`` after midnight strictly after now."""
    due = next_time_of_day(now, minutes, None, tz)
    return due if due > now else next_time_of_day(now + MINUTE, minutes, None, tz)


def quiet_hours_end(now: int, end: int, tz: tzinfo) -> int:
    """The next local ``end`` time strictly after now."""
    return next_time_after(now, end, tz)


def next_hour_of_week(now: int, hour_of_week: int, tz: tzinfo) -> int:
    """The start of the next local hour ``hour_of_week`` (0 = Monday 00:00-01:00 ... 167) strictly after
    now. A local hour skipped by a DST change starts when the clocks have gone forward."""
    weekday, hour = divmod(hour_of_week % HOURS_PER_WEEK, 24)
    today = _local(now, tz).date()
    day = today + timedelta(days=(weekday - today.weekday()) % 7)
    due = _at(day, hour * 60, tz)
    return due if due > now else _at(day + timedelta(days=7), hour * 60, tz)


def hour_of_week_label(hour_of_week: int) -> str:
    """ "Tue 09:00" for 33."""
    weekday, hour = divmod(hour_of_week % HOURS_PER_WEEK, 24)
    return f"{WEEKDAYS[weekday].title()} {hour:02d}:00"


def time_of_day_label(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_date_value(value: Any, tz: tzinfo) -> int | None:
    """Epoch ms from an int (ms) or an ISO 8601 string; a bare date means local midnight. None if neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    try:
        if _DATE_ONLY.match(text):
            return _at(date.fromisoformat(text), 0, tz)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return _to_ms(moment)
