"""The recommendations benchmark at a small scale, as an operator runs it (its own process: chdb opens one
data path per process): every reported figure must follow from the per-recommendation outcomes of that
run, and a run with too little data must make no recommendation at all."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def bench(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "loadtest.recommendations_bench", "--json", *args],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=600,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def test_the_report_is_computed_from_the_run() -> None:
    figures = bench("--contacts", "600", "--max-seconds", "400")
    kinds = figures["kinds"]
    lifts = [item for k in kinds.values() for item in k["lifts"]]
    assert figures["made"] == sum(k["made"] for k in kinds.values()) > 0
    assert figures["applied"] == len(lifts) == sum(k["applied"] for k in kinds.values())
    assert figures["improved"] == sum(1 for item in lifts if item["diff"] > 0)
    assert figures["improved_share_of_made"] == figures["improved"] / figures["made"]
    if lifts:
        assert figures["improved_share_of_applied"] == figures["improved"] / figures["applied"]
    for kind, k in kinds.items():
        assert sum(k["statuses"].values()) == k["made"]
        assert k["applied"] == k["statuses"].get("backtested", 0) == len(k["lifts"]), kind
        assert k["improved"] == sum(1 for item in k["lifts"] if item["improved"])
    for item in lifts:
        assert item["original_n"] > 0 and item["draft_n"] > 0
        assert abs(item["diff"] - (item["draft"] - item["original"])) <= 1e-4
        assert item["low"] <= item["diff"] <= item["high"] and item["improved"] == (item["diff"] > 0)
    # a goal nothing ever sends is found, and a kind without a change is never counted as applied
    goal = kinds["goal_never_reached"]
    assert goal["made"] == 1 and goal["statuses"] == {"no automatic change": 1} and goal["applied"] == 0
    # the fixed 1 h wait before the welcome is found and backtested on every held-out contact's welcome
    (welcome,) = [i for i in kinds["fixed_wait_before_send"]["lifts"] if i["workflow"] == "rb_welcome"]
    assert welcome["original_n"] == 600 and welcome["metric"] == "open rate"
    assert figures["stored_rows"] > figures["history_events"]
    assert figures["bandit_attribution"]["email"]["trials"] > 0


def test_too_little_data_makes_no_recommendation() -> None:
    figures = bench("--contacts", "60", "--max-seconds", "120")
    assert figures["made"] == 0 and figures["kinds"] == {}
    assert figures["improved_share_of_made"] is None and figures["improved_share_of_applied"] is None
