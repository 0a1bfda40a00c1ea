"""Guard against records the consumer skipped: each partition's offsets must continue from where its
processing stopped (tables/progress.py says why this can fail). A batch whose records of a partition
start past the next expected offset is a hole: the guard seeks the consumer back and drops that
partition's records until the first missing one arrives again. Records below the expected offset are
re-deliveries and pass (the contacts' own offsets make them no-ops).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

log = logging.getLogger("switchyard.gaps")


class GapGuard:
    def __init__(self, load_progress: Callable[[int], int | None]) -> None:
        self.load_progress = load_progress
        self.rewinding: dict[Any, int] = {}  # tp -> the offset we sought back to and wait for
        self.seeks_total = 0
        self.dropped_total = 0

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
            waiting = self.rewinding.get(tp)
            if waiting is not None:
                if offset != waiting:
                    self.dropped_total += 1
                    continue  # still before the hole is refilled: these come again after it
                del self.rewinding[tp]
            if tp not in expected:
                progress = self.load_progress(message.partition)
                expected[tp] = None if progress is None else progress + 1
            next_offset = expected[tp]
            if next_offset is not None and offset > next_offset:
                log.warning("partition %s: records %d..%d were skipped by the consumer; seeking back",
                            message.partition, next_offset, offset - 1)  # fmt: skip
                self.rewinding[tp] = seeks[tp] = next_offset
                self.seeks_total += 1
                self.dropped_total += 1
                continue
            expected[tp] = max(offset + 1, next_offset or 0)
            admitted.append(item)
        return admitted, seeks
