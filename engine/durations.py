"""Duration literals ("90s", "15m", "2h", "3d", "1w", "1d12h") to milliseconds and back."""

from __future__ import annotations

import re

SECOND = 1000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR
WEEK = 7 * DAY

UNITS: dict[str, int] = {"ms": 1, "s": SECOND, "m": MINUTE, "h": HOUR, "d": DAY, "w": WEEK}
# The longest duration a workflow may name: ten years. A longer one has no use in a journey, and one past
# what a time can hold (due = now + duration) would make every contact's state unsavable.
MAX_DURATION_MS = 3650 * DAY

_PART = re.compile(r"(\d+)(ms|s|m|h|d|w)")
_WHOLE = re.compile(r"^(?:\d+(?:ms|s|m|h|d|w))+$")


class DurationError(ValueError):
    """A duration literal that does not parse."""


def parse_duration(text: str | int) -> int:
    """Return the duration in milliseconds. Integers are taken as milliseconds already."""
    if isinstance(text, bool):
        raise DurationError(f"not a duration: {text!r}")
    if isinstance(text, int):
        if text < 0:
            raise DurationError(f"a duration cannot be negative: {text}")
        return _bounded(text, text)
    if not isinstance(text, str):
        raise DurationError(f"not a duration: {text!r} (use a number and a unit: 90s, 15m, 2h, 3d, 1w)")
    compact = text.strip().replace(" ", "")
    if not compact or not _WHOLE.match(compact):
        raise DurationError(
            f"not a duration: {text!r} (use a number and a unit: 90s, 15m, 2h, 3d, 1w, or 1d12h)"
        )
    return _bounded(sum(int(n) * UNITS[unit] for n, unit in _PART.findall(compact)), text)


def _bounded(ms: int, text: str | int) -> int:
    if ms > MAX_DURATION_MS:
        raise DurationError(f"{text!r} is longer than a workflow may wait: ten years (3650d) at most")
    return ms


def format_duration(ms: int) -> str:
    """The shortest literal for a duration, e.g. 93_600_000 -> "1d2h"."""
    if ms == 0:
        return "0s"
    out = []
    for unit in ("w", "d", "h", "m", "s", "ms"):
        size = UNITS[unit]
        if ms >= size:
            out.append(f"{ms // size}{unit}")
            ms %= size
    return "".join(out)
