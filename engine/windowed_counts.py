"""Windowed event counts for ``count('page.viewed', '7d')`` and ``rate('a', 'b', '30d')`` in conditions.

Each contact keeps hourly buckets of event time, only for the event types some loaded workflow counts in a
window (``WorkflowSet.count_windows``: event type -> the largest window used for it)::

    state["buckets"] = {"page.viewed": [[bucket start ms, events], ...]}  # ascending by start

Precision: a bucket is one hour of event time, ``[start, start + 1h)``. At time ``now`` a window ``w`` sums
the buckets with ``now - w < start <= now``, so events in the hour that contains ``now - w`` are left
out: the window's far edge is exact to one hour (exact when event times fall on whole hours). Bounds:
windows go from 1h to 90d; every fold drops the buckets that started at or before ``now`` minus the type's
largest window, so a type keeps at most 2,160 buckets.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from operator import itemgetter
from typing import Any, Final

from engine.durations import DAY, HOUR
from engine.types import ContactState

STATE_KEY: Final = "buckets"
BUCKET_MS: Final = HOUR
MIN_WINDOW_MS: Final = HOUR
MAX_WINDOW_MS: Final = 90 * DAY
_START = itemgetter(0)


def fold(state: ContactState, event_type: str, now: int, count_windows: Mapping[str, int]) -> None:
    """Count one ``event_type`` event at ``now`` into ``state`` (the step's own fresh dict).

    Copy-on-write: the bucket lists of the input state are never changed. Types that no loaded workflow
    counts any more are dropped on the way."""
    old: Mapping[str, list[list[int]]] = state.get(STATE_KEY) or {}
    pairs = old.get(event_type) or []
    horizon = now - count_windows[event_type]
    kept = pairs[bisect_right(pairs, horizon, key=_START) :]
    start = now - now % BUCKET_MS
    at = bisect_right(kept, start, key=_START)
    if at and kept[at - 1][0] == start:
        kept[at - 1] = [start, kept[at - 1][1] + 1]
    else:
        kept.insert(at, [start, 1])
    buckets = {kind: value for kind, value in old.items() if kind in count_windows}
    buckets[event_type] = kept
    state[STATE_KEY] = buckets


def count_in(buckets: Any, event_type: Any, window_ms: int, now: Any) -> int:
    """Events of ``event_type`` in the buckets that started in ``(now - window_ms, now]``; 0 when none."""
    if type(buckets) is not dict or type(event_type) is not str or type(now) is not int:
        return 0
    pairs = buckets.get(event_type)
    if type(pairs) is not list:
        return 0
    edge = now - window_ms
    total = 0
    try:
        for start, events in reversed(pairs):
            if start <= edge:
                break
            if start <= now:
                total += events
    except (TypeError, ValueError):
        return 0
    return total
