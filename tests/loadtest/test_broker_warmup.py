"""The load test's broker warm-up against the real broker: acknowledged rounds, records read back, and a
scratch topic that stays (never deleted, so no file deletion lands in a run)."""

from __future__ import annotations

import asyncio

import pytest

from loadtest.broker_warmup import RECORDS_PER_BATCH, WARMUP_PARTITIONS, WARMUP_TOPIC, warm_broker
from switchyard.kafka_tools import end_offsets
from switchyard.settings import Settings

pytestmark = pytest.mark.kafka


def test_warm_up_rounds_are_acknowledged_and_read_back_on_a_kept_topic(test_settings: Settings) -> None:
    async def run() -> tuple[int, int, int, int]:
        before = sum((await end_offsets(test_settings.bootstrap, WARMUP_TOPIC)).values())
        warmed = await warm_broker(test_settings.bootstrap, seconds=1.0)
        after = await end_offsets(test_settings.bootstrap, WARMUP_TOPIC)
        return warmed.batches, warmed.records_read, sum(after.values()) - before, len(after)

    batches, read, appended, partitions = asyncio.run(run())
    assert batches >= WARMUP_PARTITIONS and batches % WARMUP_PARTITIONS == 0  # whole rounds
    assert appended == batches * RECORDS_PER_BATCH  # every batch acknowledged is in the log
    assert 0 < read <= appended
    assert partitions == WARMUP_PARTITIONS
