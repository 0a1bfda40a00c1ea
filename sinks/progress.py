"""Which offsets of each partition are finished, and so how far the consumer group may commit.

Actions of a partition finish out of order (several are in flight), but the committed offset only moves
over the contiguous prefix of finished ones: after a crash every unfinished action is delivered again,
and none is skipped.
"""

from __future__ import annotations

from collections.abc import Iterable

from aiokafka import TopicPartition


class PartitionProgress:
    def __init__(self) -> None:
        self._pending: dict[TopicPartition, set[int]] = {}
        self._next: dict[TopicPartition, int] = {}
        self._committed: dict[TopicPartition, int] = {}

    def seen(self, tp: TopicPartition, offset: int) -> None:
        self._pending.setdefault(tp, set()).add(offset)
        self._next[tp] = max(self._next.get(tp, 0), offset + 1)

    def finished(self, tp: TopicPartition, offset: int) -> None:
        pending = self._pending.get(tp)
        if pending is not None:
            pending.discard(offset)

    def commit_point(self, tp: TopicPartition) -> int | None:
        """The offset to commit: the lowest unfinished one, or one past the last seen if all finished."""
        pending = self._pending.get(tp)
        if pending:
            return min(pending)
        return self._next.get(tp)

    def to_commit(self) -> dict[TopicPartition, int]:
        """Commit points that moved since the last ``committed()``."""
        out = {}
        for tp in self._next:
            point = self.commit_point(tp)
            if point is not None and point != self._committed.get(tp):
                out[tp] = point
        return out

    def committed(self, offsets: dict[TopicPartition, int]) -> None:
        self._committed.update(offsets)

    def pending_count(self, tp: TopicPartition) -> int:
        return len(self._pending.get(tp, ()))

    def forget(self, tps: Iterable[TopicPartition]) -> None:
        for tp in tps:
            self._pending.pop(tp, None)
            self._next.pop(tp, None)
            self._committed.pop(tp, None)
