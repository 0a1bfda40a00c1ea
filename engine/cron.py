"""A small five-field cron: parse an expression and find its next occurrence in a timezone.

Fields: minute hour day-of-month month day-of-week; ``*``, numbers, ranges ``a-b``, steps ``*/n`` and
``a-b/n``, lists, month and weekday names (jan, mon); day-of-week 0 and 7 are Sunday. When both day
fields are restricted (anything but ``*``) a day matches either (classic cron semantics).

Kept rather than replaced by croniter: faust-streaming's ``mode`` pins croniter below 6, and croniter 5
reads a one-value range such as ``5-5`` as ``*`` and moves times by an hour across clock changes. It is
tested against croniter as an oracle instead (tests/engine/test_cron_oracle.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from functools import lru_cache

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 7),
)
_SEARCH_DAYS = 366 * 5


class CronError(ValueError):
    """A cron expression that does not parse."""


@dataclass(frozen=True, slots=True)
class Cron:
    source: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    any_day: bool
    any_weekday: bool

    def day_matches(self, moment: date) -> bool:
        if moment.month not in self.months:
            return False
        dom = moment.day in self.days
        dow = (moment.isoweekday() % 7) in self.weekdays
        if self.any_day and self.any_weekday:
            return True
        if self.any_day:
            return dow
        if self.any_weekday:
            return dom
        return dom or dow


def _digits(text: str) -> bool:
    """ASCII digits only: str.isdigit also holds for "²" and other digits int() does not read."""
    return text.isascii() and text.isdigit()


def _value(text: str, name: str, low: int, high: int) -> int:
    lowered = text.lower()
    if name == "month" and lowered in _MONTHS:
        return _MONTHS.index(lowered) + 1
    if name == "day of week" and lowered in _DAYS:
        return _DAYS.index(lowered)
    if not _digits(text):
        raise CronError(f"{name}: {text!r} is not a number")
    number = int(text)
    if not low <= number <= high:
        raise CronError(f"{name}: {number} is outside {low}-{high}")
    return number


def _field(text: str, name: str, low: int, high: int) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        body, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not _digits(step_text) or int(step_text) == 0:
                raise CronError(f"{name}: bad step {step_text!r}")
            step = int(step_text)
        if body == "*":
            first, last = low, high
        elif "-" in body:
            start, _, end = body.partition("-")
            first, last = _value(start, name, low, high), _value(end, name, low, high)
            if first > last:
                raise CronError(f"{name}: range {body!r} goes backwards")
        else:
            first = _value(body, name, low, high)
            last = high if step_text else first
        values.update(range(first, last + 1, step))
    if not values:
        raise CronError(f"{name}: empty field")
    return frozenset(values)


def parse_cron(source: str) -> Cron:
    parts = source.split() if isinstance(source, str) else []
    if len(parts) != 5:
        raise CronError(f"a cron expression has 5 fields (minute hour day month weekday), got {len(parts)}")
    fields = [_field(text, *spec) for text, spec in zip(parts, _FIELDS, strict=True)]
    weekdays = frozenset(day % 7 for day in fields[4])
    return Cron(
        source=source,
        minutes=tuple(sorted(fields[0])),
        hours=tuple(sorted(fields[1])),
        days=fields[2],
        months=fields[3],
        weekdays=weekdays,
        any_day=parts[2] == "*",
        any_weekday=parts[4] == "*",
    )


def next_occurrence(cron: Cron, after_ms: int, tz: tzinfo) -> int | None:
    """The first matching minute strictly after ``after_ms`` (epoch ms), or None within five years."""
    # Every contact seen arms its cron triggers, and contacts arrive many per minute: the search is done once
    # per cron, zone and minute. A zone whose offset is not whole minutes could put the found minute at or
    # before ``after_ms``; then the exact search runs.
    found = _from_minute(cron, after_ms // 60_000, tz)
    if found is not None and found <= after_ms:
        return _search(cron, after_ms, tz)
    return found


@lru_cache(maxsize=4096)
def _from_minute(cron: Cron, minute: int, tz: tzinfo) -> int | None:
    return _search(cron, minute * 60_000, tz)


def _search(cron: Cron, after_ms: int, tz: tzinfo) -> int | None:
    local = datetime.fromtimestamp(after_ms / 1000, tz).replace(second=0, microsecond=0) + timedelta(
        minutes=1
    )
    first_day = local.date()
    for offset in range(_SEARCH_DAYS):
        current = first_day + timedelta(days=offset)
        if not cron.day_matches(current):
            continue
        for hour in cron.hours:
            for minute in cron.minutes:
                if offset == 0 and (hour, minute) < (local.hour, local.minute):
                    continue
                due = int(datetime.combine(current, time(hour, minute), tz).timestamp() * 1000)
                if due > after_ms:
                    return due
    return None
