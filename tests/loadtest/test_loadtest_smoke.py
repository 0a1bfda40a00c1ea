"""CI's share of the load test: a ~10-second open-loop run (200 ev/s x 8 s, 5% of the events sent twice
with the same id) through a real worker against the session broker, with the oracle at 100% and a
written report. Full runs are `switchyard loadtest`."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest

from agents.core_build import describe
from agents.kafka_admin import end_offsets
from agents.settings import Settings
from loadtest.run import RunConfig, execute

pytestmark = [pytest.mark.kafka]


def test_ten_second_run_is_fully_accurate_and_reported(test_settings: Settings, tmp_path: Path) -> None:
    cfg = RunConfig(
        settings=test_settings, mode="open", rate=200.0, seconds=8.0, events=0, contacts=80, seed=3,
        kills=0, report_dir=tmp_path / "reports", stem="smoke", log_dir=tmp_path / "logs",
        show_progress=False, duplicates=0.05,
    )  # fmt: skip
    result = asyncio.run(execute(cfg))

    oracle = result.report["oracle"]
    assert oracle["events_in_topic"] >= 1600
    assert oracle["expected"] > 0 and oracle["accuracy_pct"] == 100.0, result.table
    assert oracle["missing"] == oracle["unexpected"] == oracle["conflicting"] == 0
    # nor what the comparison cannot see: step failures, malformed events, dead letters, wrong wake-ups
    assert oracle["oracle_step_failures"] == oracle["malformed_in_topic"] == oracle["dead_letters"] == 0
    assert oracle["missed_wakeups"] == oracle["early_wakeups"] == 0
    assert result.report["drained"] is True and result.ok, result.table
    assert result.report["config"]["core"] == describe()  # read from the worker's own log line
    assert result.report["latency"]["immediate_ms"]["count"] > 0
    assert result.report["keep_up"]["keeps_up"] is True, result.table
    saved = orjson.loads(result.json_path.read_bytes())
    repeated = oracle["repeated_in_topic"]  # sent twice with the same id: the worker must apply them once
    assert 40 <= repeated <= 140, repeated
    assert saved["summary"]["produced"] == 1600 + repeated and len(saved["samples"]) >= 8
    assert result.png_path.read_bytes().startswith(b"\x89PNG")
    # the run's topics are gone
    assert asyncio.run(end_offsets(test_settings.bootstrap, test_settings.topic("events"))) == {}
