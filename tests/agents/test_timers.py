"""Durable timers against the real broker: many waits due together all fire, once each, none early."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

import orjson
import pytest

from agents.settings import Settings
from tests.agents.fixtures import (
    WorkerFactory,
    event,
    produce_events,
    publish,
    read_actions,
    read_topic,
    wait_processed,
)

pytestmark = pytest.mark.kafka
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "workflows"
HOUR = 3_600_000


def test_two_thousand_waits_due_within_ten_seconds_all_fire_once_and_never_early(
    test_settings: Settings, worker_factory: WorkerFactory
) -> None:
    publish(test_settings, EXAMPLES / "abandoned_cart.yaml")
    worker_factory.start(test_settings)
    count = 2000
    first_due = int(time.time() * 1000) + 12_000
    # cart.created at due - 2h: the reminder wait of contact i falls due at first_due + i * 5 ms
    produce_events(
        test_settings,
        [
            event(f"t{i:04d}", "cart.created", first_due + i * 5 - 2 * HOUR, cart_id=f"k{i}")
            for i in range(count)
        ],
    )
    reminders = read_actions(test_settings, expect=count, timeout=90)
    assert sorted(a["contact_id"] for a in reminders) == [f"t{i:04d}" for i in range(count)]

    wakeups = asyncio.run(
        read_topic(test_settings.bootstrap, test_settings.topic("events"), expect=2 * count)
    )
    fired = [orjson.loads(r.value)["properties"] for r in wakeups if r.value and b'"timer.fired"' in r.value]
    tokens = Counter(p["token"] for p in fired)
    assert len(tokens) == count and max(tokens.values()) == 1  # every wait woke up, exactly once
    lateness = sorted(p["fired_at"] - p["due"] for p in fired)
    assert lateness[0] >= 0  # never early
    print(f"lateness ms: p50 {lateness[count // 2]}, p99 {lateness[int(count * 0.99)]}, max {lateness[-1]}")


def test_a_timer_its_contact_moved_on_from_does_not_fire(
    test_settings: Settings, worker_factory: WorkerFactory
) -> None:
    """A purchase ends the cart run during its 2 h wait: that wait's timer is cancelled, as a worker that
    rebuilt its heap from the timers table would have it. The control contact's wait fires as due."""
    publish(test_settings, EXAMPLES / "abandoned_cart.yaml")
    worker_factory.start(test_settings)
    due = int(time.time() * 1000) + 10_000
    produce_events(
        test_settings,
        [  # the bought cart's wait falls due first: were it still in the heap, it would fire first
            event("bought", "cart.created", due - 1_000 - 2 * HOUR, cart_id="b1"),
            event("control", "cart.created", due - 2 * HOUR, cart_id="c1"),
        ],
    )
    wait_processed(test_settings)  # both waits are in the timers table and the heap
    produce_events(test_settings, [event("bought", "purchase", due - 5_000, cart_id="b1")])
    reminders = read_actions(test_settings, expect=1, timeout=60)
    assert [a["contact_id"] for a in reminders] == ["control"]
    events = test_settings.topic("events")
    records = asyncio.run(read_topic(test_settings.bootstrap, events, expect=10_000, timeout=5))  # all there
    fired = [orjson.loads(r.value) for r in records if r.value and b'"timer.fired"' in r.value]
    assert [f["contact_id"] for f in fired] == ["control"]
