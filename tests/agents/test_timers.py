"""Durable timers against the real broker: many waits due together all fire, once each, none early."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

import orjson
import pytest

from agents.settings import Settings
from tests.agents.fixtures import event, produce_events, publish, read_actions, read_topic

pytestmark = pytest.mark.kafka
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "workflows"
HOUR = 3_600_000


def test_two_thousand_waits_due_within_ten_seconds_all_fire_once_and_never_early(
    test_settings: Settings, worker_factory: type
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
    fired = [orjson.loads(r.value)["properties"] for r in wakeups if b'"timer.fired"' in (r.value or b"")]
    tokens = Counter(p["token"] for p in fired)
    assert len(tokens) == count and max(tokens.values()) == 1  # every wait woke up, exactly once
    lateness = sorted(p["fired_at"] - p["due"] for p in fired)
    assert lateness[0] >= 0  # never early
    print(f"lateness ms: p50 {lateness[count // 2]}, p99 {lateness[int(count * 0.99)]}, max {lateness[-1]}")
