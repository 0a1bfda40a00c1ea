"""engine/cron.py against croniter, the maintained library, as an oracle.

Thousands of random five-field expressions (numbers, names, ranges, steps, lists, restricted and
unrestricted day fields) must give the same next occurrences as croniter in time zones without a clock
change on the way. Days with a clock change are checked against explicit expectations instead: croniter
5.x (the newest that faust-streaming's `mode` allows) mis-schedules around them, and the test shows that.
The last tests prove the oracle can fail: two classic cron mistakes, fed through it, are caught.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

import pytest
from croniter import CroniterBadDateError, croniter

from engine.cron import Cron, next_occurrence, parse_cron

NextFn = Callable[[Cron, int, tzinfo], int | None]
_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")


def _atom(rng: random.Random, low: int, high: int, names: tuple[str, ...] = ()) -> str:
    def number() -> str:
        value = rng.randint(low, high)
        if names and rng.random() < 0.3:
            return names[value - low] if len(names) == high - low + 1 else names[value % len(names)]
        return str(value)

    kind = rng.random()
    if kind < 0.25:
        return number()
    if kind < 0.45:  # a range of at least two values: croniter 5 reads `a-a` as `*` (its own test below)
        first = rng.randint(low, high - 1)
        return f"{first}-{rng.randint(first + 1, high)}"
    if kind < 0.65:
        return f"*/{rng.randint(1, max(1, (high - low) // 2))}"
    if kind < 0.8:
        first = rng.randint(low, high - 1)
        return f"{first}-{rng.randint(first + 1, high)}/{rng.randint(1, 5)}"
    return ",".join(sorted({str(rng.randint(low, high)) for _ in range(rng.randint(2, 4))}, key=int))


def _day_field(rng: random.Random, low: int, high: int, names: tuple[str, ...] = ()) -> str:
    """`*`, or a restriction that neither starts with `*` nor allows every value: where cron
    implementations disagree on whether such a field counts as restricted, croniter among them."""
    if rng.random() < 0.5:
        return "*"
    while True:
        atom = _atom(rng, low, high, names)
        if not atom.startswith("*") and atom not in {f"{low}-{high}"}:
            return atom


def random_expression(rng: random.Random) -> str:
    def field(low: int, high: int, star: float, names: tuple[str, ...] = ()) -> str:
        return "*" if rng.random() < star else _atom(rng, low, high, names)

    minute = field(0, 59, 0.1)
    hour = field(0, 23, 0.3)
    day = _day_field(rng, 1, 28)  # 29-31 make many expressions years apart; named tests have them
    month = field(1, 12, 0.7, _MONTH_NAMES)
    weekday = _day_field(rng, 0, 6, _DAY_NAMES)
    return f"{minute} {hour} {day} {month} {weekday}"


def oracle(source: str, after_ms: int, tz: tzinfo) -> int | None:
    start = datetime.fromtimestamp(after_ms / 1000, tz)
    try:
        found = croniter(source, start).get_next(datetime)
    except CroniterBadDateError:
        return None
    return int(found.timestamp() * 1000)


def mismatches(next_fn: NextFn, samples: int, seed: int, zones: tuple[tzinfo, ...]) -> list[str]:
    """Where `next_fn` and croniter disagree, over `samples` random expressions and start times in 2026
    (November 2026 to January 2027)."""
    rng = random.Random(seed)
    out: list[str] = []
    for _ in range(samples):
        source = random_expression(rng)
        tz = rng.choice(zones)
        start = datetime(2026, 11, 15, tzinfo=UTC).timestamp() + rng.randint(0, 60 * 86400)
        after_ms = int(start * 1000) + rng.randint(0, 59_999)
        cron = parse_cron(source)
        chain_ours, chain_lib = after_ms, after_ms
        for _ in range(3):  # the next three occurrences, each from the one before
            ours = next_fn(cron, chain_ours, tz)
            theirs = oracle(source, chain_lib, tz)
            if ours != theirs:
                out.append(f"{source!r} in {tz} after {chain_ours}: ours {ours}, croniter {theirs}")
                break
            if ours is None or theirs is None:
                break
            chain_ours, chain_lib = ours, theirs
    return out


# Zones without clock changes: croniter 5 moves times by an hour across one (see the tests further down)
NO_CHANGE_ZONES: tuple[tzinfo, ...] = (
    UTC,
    ZoneInfo("Asia/Kolkata"),
    ZoneInfo("Asia/Tokyo"),
    ZoneInfo("Australia/Eucla"),
)


def test_three_thousand_random_expressions_agree_with_croniter() -> None:
    assert mismatches(next_occurrence, 3000, seed=20261204, zones=NO_CHANGE_ZONES) == []


@pytest.mark.parametrize(
    "source",
    ["0 9 * * mon", "0 9 1 * mon", "*/15 9-17 * * mon-fri", "0 0 29 2 *", "0 12 31 * *", "5 4 * * sun",
     "0 0 1,15 * wed", "0 22 * * 1-5", "0 0 */10 jan *", "7 7 7 7 7"],
)  # fmt: skip
def test_named_expressions_agree_with_croniter_over_a_year_of_occurrences(source: str) -> None:
    cron = parse_cron(source)
    after = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp() * 1000)
    for _ in range(12):
        ours = next_occurrence(cron, after, UTC)
        assert ours == oracle(source, after, UTC), source
        if ours is None:
            break
        after = ours


def _ms(local: datetime) -> int:
    return int(local.timestamp() * 1000)


def _local(ms: int, tz: tzinfo) -> str:
    return datetime.fromtimestamp(ms / 1000, tz).isoformat()


@pytest.mark.parametrize(
    ("tz", "source", "start", "expected"),
    [
        # Spring forward, New York 2026-03-08 02:00 -> 03:00: a skipped time fires once, just after the gap
        (NEW_YORK, "30 2 * * *", datetime(2026, 3, 7, 23, 0),
         ["2026-03-08T03:30:00-04:00", "2026-03-09T02:30:00-04:00"]),
        # a time before the gap keeps its wall clock on both sides of the change (croniter 5 gives 00:30)
        (NEW_YORK, "30 1 * * *", datetime(2026, 3, 7, 23, 0),
         ["2026-03-08T01:30:00-05:00", "2026-03-09T01:30:00-04:00", "2026-03-10T01:30:00-04:00"]),
        # Fall back, New York 2026-11-01 02:00 -> 01:00: a repeated wall time fires once, at its first pass
        (NEW_YORK, "30 1 * * *", datetime(2026, 10, 31, 23, 0),
         ["2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"]),
        (NEW_YORK, "0 * * * *", datetime(2026, 11, 1, 0, 30),
         ["2026-11-01T01:00:00-04:00", "2026-11-01T02:00:00-05:00", "2026-11-01T03:00:00-05:00"]),
        # Berlin 2026-03-29 02:00 -> 03:00 and 2026-10-25 03:00 -> 02:00
        (BERLIN, "0 9 * * sun", datetime(2026, 3, 28, 12, 0),
         ["2026-03-29T09:00:00+02:00", "2026-04-05T09:00:00+02:00"]),
        (BERLIN, "15 2 * * *", datetime(2026, 10, 24, 12, 0),
         ["2026-10-25T02:15:00+02:00", "2026-10-26T02:15:00+01:00"]),
    ],
)  # fmt: skip
def test_clock_change_days_in_the_contacts_time_zone(
    tz: ZoneInfo, source: str, start: datetime, expected: list[str]
) -> None:
    cron, after, got = parse_cron(source), _ms(start.replace(tzinfo=tz)), []
    for _ in expected:
        found = next_occurrence(cron, after, tz)
        assert found is not None
        got.append(_local(found, tz))
        after = found
    assert got == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [("0 0 * * 5-5", "2026-01-02T00:00:00+00:00 2026-01-09T00:00:00+00:00"),
     ("0 0 11-11 * *", "2026-01-11T00:00:00+00:00 2026-02-11T00:00:00+00:00"),
     ("0 20-20 * * *", "2026-01-01T20:00:00+00:00 2026-01-02T20:00:00+00:00")],
)  # fmt: skip
def test_a_one_value_range_is_that_value(source: str, expected: str) -> None:
    """Left out of the random corpus: croniter 5 reads `a-a` as `*` (every day, every hour)."""
    cron, after, got = parse_cron(source), _ms(datetime(2026, 1, 1, tzinfo=UTC)), []
    for _ in range(2):
        found = next_occurrence(cron, after, UTC)
        assert found is not None
        got.append(_local(found, UTC))
        after = found
    assert " ".join(got) == expected


def test_croniter_5_is_no_oracle_on_a_clock_change_day() -> None:
    """Why the days above have explicit expectations: the library moves a daily 01:30 to 00:30."""
    after = _ms(datetime(2026, 3, 8, 1, 31, tzinfo=NEW_YORK))
    theirs = oracle("30 1 * * *", after, NEW_YORK)
    ours = next_occurrence(parse_cron("30 1 * * *"), after, NEW_YORK)
    assert ours is not None and _local(ours, NEW_YORK) == "2026-03-09T01:30:00-04:00"
    assert theirs != ours


# The oracle must be able to fail: two mistakes a cron implementation commonly makes, each caught.


def _days_and(cron: Cron, after_ms: int, tz: tzinfo) -> int | None:
    """Both restricted day fields must match (AND) instead of either (cron's OR)."""
    if cron.any_day or cron.any_weekday:
        return next_occurrence(cron, after_ms, tz)
    found = next_occurrence(cron, after_ms, tz)  # either day field: keep only those matching both
    while found is not None:
        local = datetime.fromtimestamp(found / 1000, tz).date()
        if local.day in cron.days and (local.isoweekday() % 7) in cron.weekdays:
            return found
        found = next_occurrence(cron, found, tz)
    return None


def _steps_ignored(cron: Cron, after_ms: int, tz: tzinfo) -> int | None:
    """`a/n` read as `a` (or `*/n` as `*`): the step dropped while parsing."""
    stripped = " ".join(part.split("/")[0] if "/" in part else part for part in cron.source.split())
    return next_occurrence(parse_cron(stripped), after_ms, tz)


@pytest.mark.parametrize("mutant", [_days_and, _steps_ignored])
def test_the_oracle_catches_classic_cron_mistakes(mutant: NextFn) -> None:
    found = mismatches(mutant, 100, seed=7, zones=(UTC,))
    assert len(found) >= 5, f"{mutant.__name__} slipped through the oracle"
