"""TimerService.rebuild reads the timers table a chunk at a time while the processor goes on adding and
cancelling timers; the queue it ends with must be the table's. Real RocksDB files, no Kafka (nothing
fires during a rebuild)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from agents.metrics import Metrics
from agents.timer_queue import Timer
from agents.timers import TimerService
from tables.timers import TimerStore
from tests.tables.fixtures import direct_table

START = 1_767_261_600_000
HOUR = 3_600_000
FAR_FUTURE = START + 1_000 * 24 * HOUR


def timers_of(rng: random.Random, contact: str, version: int) -> list[tuple[int, str, str]]:
    """A contact's pending timers after its ``version``-th change: some near, some days away."""
    count = rng.randrange(0, 3)
    return sorted((START + rng.choice([rng.randrange(1, HOUR), rng.randrange(HOUR, 500 * HOUR)]),
                   f"{contact}:{version}:{n}", "wait") for n in range(count))  # fmt: skip


def test_a_rebuild_ends_with_the_tables_timers_whatever_changed_while_it_read(tmp_path: Path) -> None:
    table, _ = direct_table(tmp_path, 2)
    store = TimerStore(table)
    rng = random.Random(5)
    pending: dict[str, tuple[int, list[tuple[int, str, str]]]] = {}  # contact -> (partition, timers)
    for i in range(300):
        contact = f"c{i:04d}"
        pending[contact] = (i % 2, timers_of(rng, contact, 0))
        store.save(i % 2, contact, pending[contact][1])
    app = SimpleNamespace(on_rebalance_complete=SimpleNamespace(connect=lambda receiver: None))
    service = TimerService(app, store, "events", Metrics(), clock=lambda: START / 1000)
    service.rebuild_chunk = 7
    changed_during_rebuild = 0

    def change(contact: str, version: int) -> None:
        """As the processor's _save_timers: the row first, then the service."""
        partition, before = pending[contact]
        after = timers_of(rng, contact, version)
        store.save(partition, contact, after)
        for due, token, _ in set(before) - set(after):
            service.cancel(due, token)
        for due, token, kind in set(after) - set(before):
            service.add(contact, due, token, kind, partition)
        pending[contact] = (partition, after)

    async def scenario() -> int:
        nonlocal changed_during_rebuild
        rebuilding = asyncio.ensure_future(service.rebuild())
        version = 1
        while not rebuilding.done():
            for _ in range(3):
                change(f"c{rng.randrange(300):04d}", version)
                version += 1
                changed_during_rebuild += 1
            await asyncio.sleep(0)
        return await rebuilding

    live = asyncio.run(scenario())
    expected = sorted(Timer(due, token, contact, kind, partition)
                      for contact, (partition, timers) in pending.items()
                      for due, token, kind in timers)  # fmt: skip
    assert changed_during_rebuild >= 30  # the rebuild really ran alongside the changes
    assert live == len(expected)
    drained = []
    while (timer := service.queue.pop_due(FAR_FUTURE)) is not None:
        drained.append(timer)
    assert sorted(drained) == expected


class FailingOnce(TimerStore):
    """A timers table whose first read fails (a RocksDB read error, say)."""

    def __init__(self, store: TimerStore) -> None:
        super().__init__(store.table)
        self.failures = 1

    def scan(self, chunk: int) -> Iterator[list[tuple[int, str, int, str, str]]]:
        if self.failures:
            self.failures -= 1
            raise OSError("read failed")
        return super().scan(chunk)


def test_a_rebuild_that_fails_is_tried_again_at_the_next_tick(tmp_path: Path) -> None:
    table, _ = direct_table(tmp_path, 1)
    store = TimerStore(table)
    store.save(0, "c1", [(START + HOUR, "c1:0:0", "wait")])
    app = SimpleNamespace(
        on_rebalance_complete=SimpleNamespace(connect=lambda receiver: None),
        rebalancing=False,
        in_recovery=False,
        assignor=SimpleNamespace(assigned_actives=set),
    )
    service = TimerService(app, FailingOnce(store), "events", Metrics(), clock=lambda: START / 1000)
    service.stale = True
    with pytest.raises(OSError):
        asyncio.run(service.tick())
    assert service.stale and len(service.queue) == 0
    asyncio.run(service.tick())  # nothing is due yet: fire_due sends nothing
    assert not service.stale and len(service.queue) == 1
