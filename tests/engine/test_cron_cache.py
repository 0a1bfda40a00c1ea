"""engine/cron.py's per-minute memo of next_occurrence gives exactly what the uncached search gives, for any
millisecond of a minute, also in a zone whose offset is not a whole number of minutes."""

from __future__ import annotations

import random
from datetime import UTC, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

import pytest

from engine.cron import _search, next_occurrence, parse_cron

ZONES: list[tzinfo] = [
    UTC,
    ZoneInfo("America/New_York"),
    ZoneInfo("Asia/Kathmandu"),
    timezone(timedelta(seconds=30)),
]
EXPRESSIONS = ["* * * * *", "0 9 * * mon-fri", "*/15 * 1 * *", "30 8 1 1 *", "5 4 * * sun"]


@pytest.mark.parametrize("tz", ZONES, ids=str)
def test_the_memo_agrees_with_the_search_at_every_millisecond_of_a_minute(tz: tzinfo) -> None:
    rng = random.Random(11)
    for source in EXPRESSIONS:
        cron = parse_cron(source)
        for _ in range(60):
            minute = rng.randrange(27_000_000, 30_000_000)  # 2021-2027
            for offset_ms in (0, 1, 29_999, 30_000, 30_001, 59_999):
                after = minute * 60_000 + offset_ms
                assert next_occurrence(cron, after, tz) == _search(cron, after, tz), (source, after)


def test_the_half_minute_zone_needs_the_exact_search() -> None:
    """In a zone 30 s off whole minutes the minute found from the minute's start can be at or before the
    given time: the memo alone would answer a time in the past."""
    tz = timezone(timedelta(seconds=30))
    cron = parse_cron("* * * * *")
    after = 28_000_000 * 60_000 + 45_000
    from_minute_start = _search(cron, after - 45_000, tz)
    assert from_minute_start is not None and from_minute_start <= after
    assert next_occurrence(cron, after, tz) == after + 45_000  # the next local whole minute
