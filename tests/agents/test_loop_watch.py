"""agents/loop_watch.py: a blocked event loop is logged with how long; a free one is not."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from agents.loop_watch import watch_loop


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
