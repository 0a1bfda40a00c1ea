"""SafeConsumer.revive: an assigned partition that stays idle while the fetcher leaves it out (paused by a
recovery that did not resume it, or marked buffer-full after its buffer drained) is fetched from again;
partitions that are fetched normally are left alone. SafeConsumer.refetch_unfetched: idle partitions
no fetch ever answered for make the consumer seek to the committed offsets."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace
from typing import Any

import pytest
from faust.types import TP

from agents.consumer import SafeConsumer


class Fetching:
    """The partition bookkeeping of Faust's consumer that `revive` reads and changes, nothing else."""

    def __init__(self, active: set[TP], paused: set[TP], buffered: set[TP]) -> None:
        self._active_partitions = active
        self._paused_partitions = paused
        self._buffered_partitions = buffered

    def _get_active_partitions(self) -> set[TP]:
        return self._active_partitions

    def resume_partitions(self, tps: Any) -> None:
        self._active_partitions.update(tps)
        self._paused_partitions.difference_update(tps)


def test_idle_partitions_left_out_of_fetching_are_fetched_again(caplog: pytest.LogCaptureFixture) -> None:
    p0, p1, p2, p3 = (TP("events", n) for n in range(4))
    consumer = Fetching(active={p0}, paused={p1}, buffered={p2})
    with caplog.at_level(logging.WARNING, logger="switchyard.consumer"):
        revived = SafeConsumer.revive(consumer, [p0, p1, p2, p3])  # type: ignore[arg-type]
    assert revived == [p1, p2, p3]
    assert consumer._active_partitions == {p0, p1, p2, p3}
    assert consumer._paused_partitions == set() and consumer._buffered_partitions == set()
    reasons = [record.getMessage() for record in caplog.records]
    assert [
        why in reason
        for why, reason in zip(("(paused)", "(buffer full)", "(not fetched)"), reasons, strict=True)
    ] == [True] * 3


def test_partitions_being_fetched_are_left_alone() -> None:
    p0, p1 = TP("events", 0), TP("events", 1)
    consumer = Fetching(active={p0, p1}, paused=set(), buffered=set())
    assert SafeConsumer.revive(consumer, [p0, p1]) == []  # type: ignore[arg-type]
    assert consumer._active_partitions == {p0, p1}


class Unfetched(Fetching):
    """Adds the log ends (None: no fetch answered yet) and the seek `refetch_unfetched` uses."""

    def __init__(self, ends: dict[TP, int | None]) -> None:
        super().__init__(active=set(ends), paused=set(), buffered=set())
        self.ends, self.seeks, self.flow_active = ends, 0, True
        self.feeds: dict[str, Any] = {}
        self.app = SimpleNamespace(flow_control=SimpleNamespace(is_active=lambda: True))

    def highwater(self, tp: TP) -> int | None:
        if tp not in self.ends:
            raise AssertionError("not assigned")  # what aiokafka does for a partition it no longer holds
        return self.ends[tp]

    def _end_unknown(self, tp: TP) -> bool:
        return SafeConsumer._end_unknown(self, tp)  # type: ignore[arg-type]

    async def seek_to_committed(self) -> dict[TP, int]:
        self.seeks += 1
        return {}


def test_idle_partitions_never_fetched_make_it_seek_to_the_committed_offsets(
    caplog: pytest.LogCaptureFixture,
) -> None:
    p0, p1, p2 = (TP("events", n) for n in range(3))
    consumer = Unfetched({p0: 12, p1: None})
    with caplog.at_level(logging.WARNING, logger="switchyard.consumer"):
        found = asyncio.run(SafeConsumer.refetch_unfetched(consumer, [p0, p1, p2]))  # type: ignore[arg-type]
    assert found == [p1] and consumer.seeks == 1
    assert "partitions [1]: nothing fetched" in caplog.records[0].getMessage()


def test_partitions_with_a_known_end_are_not_sought() -> None:
    p0 = TP("events", 0)
    consumer = Unfetched({p0: 0})
    assert asyncio.run(SafeConsumer.refetch_unfetched(consumer, [p0])) == []  # type: ignore[arg-type]
    assert consumer.seeks == 0
