"""SafeConsumer.revive: an assigned partition that stays idle while the fetcher leaves it out (paused by a
recovery that did not resume it, or marked buffer-full after its buffer drained) is fetched from again;
partitions that are fetched normally are left alone."""

from __future__ import annotations

import logging
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
