"""agents/loop_watch.py: a blocked event loop and a long garbage collection are logged with how long;
short ones are not."""

from __future__ import annotations

import asyncio
import gc
import logging
import time

import pytest

from agents.loop_watch import CollectionWatch, watch_loop


async def test_a_blocked_loop_is_logged_and_a_free_one_is_not(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="switchyard.loop"):
        watcher = asyncio.ensure_future(watch_loop(tick_s=0.01, blocked_s=0.15))
        await asyncio.sleep(0.1)
        assert caplog.records == []
        time.sleep(0.3)  # blocks the loop, as a long synchronous step would
        await asyncio.sleep(0.05)
        watcher.cancel()
    assert len(caplog.records) == 1
    blocked_ms = float(caplog.records[0].getMessage().split()[-2])
    assert 250 <= blocked_ms <= 1000


def test_a_long_collection_is_logged_and_a_short_one_is_not(caplog: pytest.LogCaptureFixture) -> None:
    watch = CollectionWatch(logged_ms=50.0)
    with caplog.at_level(logging.WARNING, logger="switchyard.loop"):
        watch("start", {"generation": 0})
        watch("stop", {"generation": 0, "collected": 3})  # immediate: well under 50 ms
        assert caplog.records == []
        watch("start", {"generation": 2})
        time.sleep(0.08)  # stands in for a collection walking a big heap
        watch("stop", {"generation": 2, "collected": 7})
    assert len(caplog.records) == 1
    message = caplog.records[0].getMessage()
    assert "generation 2" in message and "(7 collected)" in message
    assert 80 <= watch.pauses_ms[-1] <= 1000


def test_the_watch_is_installed_once() -> None:
    watch = CollectionWatch()
    try:
        watch.install()
        watch.install()
        assert gc.callbacks.count(watch) == 1
    finally:
        gc.callbacks.remove(watch)
