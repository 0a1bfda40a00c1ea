"""The skipped-records guard, on batches shaped like Faust's (no broker needed for the logic itself)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import pytest

from agents.gaps import GapGuard, HeldWatch


@dataclass(frozen=True)
class Message:
    tp: tuple[str, int]
    partition: int
    offset: int


@dataclass(frozen=True)
class Item:
    message: Message


def batch(*records: tuple[int, int]) -> list[Item]:
    return [Item(Message(("events", p), p, o)) for p, o in records]


def offsets(items: list[Item]) -> list[tuple[int, int]]:
    return [(i.message.partition, i.message.offset) for i in items]


def test_contiguous_records_pass_and_a_fresh_partition_is_trusted() -> None:
    guard = GapGuard({0: 9}.get)
    admitted, seeks = guard.admit(batch((0, 10), (1, 500), (0, 11), (1, 501)))
    assert offsets(admitted) == [(0, 10), (1, 500), (0, 11), (1, 501)] and seeks == {}


def test_a_hole_seeks_back_and_drops_until_the_first_missing_record_returns() -> None:
    guard = GapGuard({0: 9, 1: 99}.get)
    admitted, seeks = guard.admit(batch((0, 10), (1, 140), (1, 141), (0, 11)))
    assert offsets(admitted) == [(0, 10), (0, 11)]
    assert seeks == {("events", 1): 100}
    # the consumer's seek dropped the partition's records still in the feed: the refill comes next
    admitted, seeks = guard.admit(batch((1, 100), (1, 101), (1, 102)))
    assert offsets(admitted) == [(1, 100), (1, 101), (1, 102)] and seeks == {}
    assert guard.seeks_total == 1 and guard.dropped_total == 2


def test_redeliveries_below_the_progress_pass() -> None:
    guard = GapGuard({0: 50}.get)
    admitted, seeks = guard.admit(batch((0, 40), (0, 41), (0, 51)))
    assert offsets(admitted) == [(0, 40), (0, 41), (0, 51)] and seeks == {}


def test_a_rebalance_forgets_what_was_awaited() -> None:
    guard = GapGuard({0: 9}.get)
    guard.admit(batch((0, 20)))
    guard.reset()
    admitted, _ = guard.admit(batch((0, 10)))
    assert offsets(admitted) == [(0, 10)]


def test_a_partition_that_stopped_short_of_its_log_end_is_found() -> None:
    from agents.gaps import stalled_partitions

    positions: dict[Any, tuple[int | None, int | None, float]] = {
        "caught-up": (99, 100, 0.0),  # processed everything there is
        "stuck": (49, 100, 0.0),  # quiet for 30 s with 50 records left: a hole at the tail
        "busy": (49, 100, 25.0),  # records came 5 s ago: just behind
        "fresh": (None, 100, 0.0),  # never processed here: nothing to compare with
    }
    assert stalled_partitions(positions, now=30.0, quiet_s=10.0) == {"stuck": 50}


def test_a_hole_that_never_refills_is_given_up_after_three_seeks() -> None:
    """Records removed by retention: the log now starts at 50, and every seek to 10 lands there. The guard
    goes on after three seeks, with no rebalance needed (before, it waited for offset 10 for good,
    dropping every later record of the partition, and the consumer committed past them)."""
    guard = GapGuard({0: 9}.get)
    for _ in range(3):
        admitted, seeks = guard.admit(batch((0, 50), (0, 51)))
        assert admitted == [] and seeks == {("events", 0): 10}
    admitted, seeks = guard.admit(batch((0, 50), (0, 51)))
    assert offsets(admitted) == [(0, 50), (0, 51)] and seeks == {}
    assert guard.rewinding == {}


def test_a_transaction_marker_is_passed_after_three_seeks() -> None:
    """A transactional producer's commit marker takes an offset and is never delivered: 41 here."""
    guard = GapGuard({0: 40}.get)
    assert guard.admit(batch((0, 42)))[1] == {("events", 0): 41}
    assert guard.admit(batch((0, 42)))[1] == {("events", 0): 41}
    assert guard.admit(batch((0, 42)))[1] == {("events", 0): 41}
    admitted, seeks = guard.admit(batch((0, 42), (0, 43)))
    assert offsets(admitted) == [(0, 42), (0, 43)] and seeks == {}


def test_a_stalled_partition_is_sought_at_most_three_times() -> None:
    """A log that ends in a transaction marker looks stalled for good: seeking it every check would go on
    for ever."""
    guard = GapGuard({0: 40}.get)
    assert [guard.unstall(("events", 0), 41, 42) for _ in range(5)] == [True, True, True, False, False]


def test_processing_held_past_the_limit_is_logged_once_per_period(caplog: pytest.LogCaptureFixture) -> None:
    watch = HeldWatch(after_s=30.0)
    with caplog.at_level(logging.WARNING, logger="switchyard.gaps"):
        logged = [watch.observe("a rebalance", t) for t in (0.0, 10.0, 29.0, 30.0, 45.0, 60.0)]
        assert logged == [False, False, False, True, False, True]
        assert not watch.observe("", 61.0)  # released: the clock starts again
        assert [watch.observe("a recovery", t) for t in (62.0, 91.0, 92.0)] == [False, False, True]
    held = [r.getMessage() for r in caplog.records]
    assert held[0] == "processing held for 30 s by a rebalance; the stall checks wait for it"
    assert len(held) == 3 and held[2].endswith("by a recovery; the stall checks wait for it")
