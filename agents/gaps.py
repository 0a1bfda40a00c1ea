"""Guard against records the consumer skipped: each partition's offsets must continue from where its
processing stopped (tables/progress.py says why this can fail). A batch whose records of a partition
start past the next expected offset is a hole: the guard seeks the consumer back and drops that
partition's records until the first missing one arrives again. A hole at a partition's tail shows as
no records arriving while the log has more: `stalled_partitions` finds those for a periodic check.
Records below the expected offset are re-deliveries and pass (the contacts' offsets make them no-ops).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

log = logging.getLogger("switchyard.gaps")
MAX_SEEKS = 3


class GapGuard:
    def __init__(self, load_progress: Callable[[int], int | None]) -> None:
        self.load_progress = load_progress
        self.rewinding: dict[Any, int] = {}  # tp -> the offset we sought back to and wait for
        self.seeks_total = 0
        self.dropped_total = 0
        self.seen_at: dict[Any, float] = {}  # tp -> when a record of it last came (monotonic)
        self.attempts: dict[tuple[Any, int], int] = {}  # (tp, offset sought) -> how often

    def _should_seek(self, tp: Any, missing_from: int, arrived: int) -> bool:
        """Seek back at most three times for the same hole: records removed by retention never return."""
        tries = self.attempts.get((tp, missing_from), 0) + 1
        self.attempts[(tp, missing_from)] = tries
        if tries > MAX_SEEKS:
            if tries == MAX_SEEKS + 1:
                log.error("partition %s: offsets %d..%d hold no records to read (retention, or transaction "
                          "markers); going on", tp, missing_from, arrived - 1)  # fmt: skip
            return False
        return True

    def unstall(self, tp: Any, offset: int, end: int) -> bool:
        """Whether to seek a partition that delivers nothing although its log ends at ``end`` past
        ``offset`` (`stalled_partitions`): at most MAX_SEEKS times, since a log that ends in a
        transaction marker shows exactly that for good."""
        if not self._should_seek(tp, offset, end):
            return False
        self.rewinding[tp] = offset
        self.seeks_total += 1
        return True

    def reset(self) -> None:
        """After a rebalance: what this worker was waiting for may now be another worker's business."""
        self.rewinding.clear()

    def admit(self, batch: Sequence[Any]) -> tuple[list[Any], dict[Any, int]]:
        """The records of `batch` to process, and the seeks to make (tp -> offset)."""
        expected: dict[Any, int | None] = {}
        seeks: dict[Any, int] = {}
        admitted: list[Any] = []
        for item in batch:
            message = item.message
            tp, offset = message.tp, message.offset
            self.seen_at[tp] = time.monotonic()
            if tp in seeks:
                self.dropped_total += 1
                continue  # sought in this batch: the rest of it comes again after the seek
            # The first record since a seek of an earlier batch (the consumer drops the partition's
            # records fetched before it) is the one sought, or a later one when that is gone (retention,
            # or a transaction marker, which takes an offset and is never delivered). The check below
            # seeks again while it is missing, up to MAX_SEEKS times, and then goes on.
            self.rewinding.pop(tp, None)
            if tp not in expected:
                progress = self.load_progress(message.partition)
                expected[tp] = None if progress is None else progress + 1
            next_offset = expected[tp]
            if (
                next_offset is not None
                and offset > next_offset
                and self._should_seek(tp, next_offset, offset)
            ):
                log.warning("partition %s: records %d..%d were skipped by the consumer; seeking back",
                            message.partition, next_offset, offset - 1)  # fmt: skip
                self.rewinding[tp] = seeks[tp] = next_offset
                self.seeks_total += 1
                self.dropped_total += 1
                continue
            expected[tp] = max(offset + 1, next_offset or 0)
            admitted.append(item)
        return admitted, seeks


def stalled_partitions(
    positions: dict[Any, tuple[int | None, int | None, float]], now: float, quiet_s: float
) -> dict[Any, int]:
    """Partitions whose records stopped arriving although more are there: tp -> offset to seek to.

    `positions` maps tp -> (highest processed offset, log end offset, time its last record came). The
    hole can be at the tail, where no later record would reveal it to `GapGuard.admit`."""
    stalled: dict[Any, int] = {}
    for tp, (done, end, seen_at) in positions.items():
        if done is not None and end is not None and end > done + 1 and now - seen_at >= quiet_s:
            stalled[tp] = done + 1
    return stalled


class HeldWatch:
    """Logs processing held by a rebalance or a recovery for longer than they take (seconds): the stall
    checks do not run meanwhile, so without this line a worker stuck there would be silent."""

    def __init__(self, after_s: float = 30.0) -> None:
        self.after_s = after_s
        self.since: float | None = None
        self.logged_at: float | None = None

    def observe(self, held_by: str, now: float) -> bool:
        """`held_by` names what holds processing ('' when nothing does); True when it was logged."""
        if not held_by:
            self.since = self.logged_at = None
            return False
        if self.since is None:
            self.since = now
        due = self.logged_at is None or now - self.logged_at >= self.after_s
        if now - self.since >= self.after_s and due:
            log.warning("processing held for %.0f s by %s; the stall checks wait for it", now - self.since,
                        held_by)  # fmt: skip
            self.logged_at = now
            return True
        return False
