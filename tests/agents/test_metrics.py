"""The worker's /metrics page against real traffic: counts it can be held to."""

from __future__ import annotations

import asyncio
import re
import socket
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from agents.settings import Settings
from tests.agents.fixtures import WorkerFactory, event, produce, produce_events, publish, wait_processed

pytestmark = pytest.mark.kafka
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "workflows"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sample(text: str, name: str) -> float:
    match = re.search(rf"^switchyard_{name} ([0-9.e+]+)$", text, re.MULTILINE)
    assert match, f"{name} missing from /metrics"
    return float(match.group(1))


def test_metrics_page_counts_events_actions_dead_letters_and_timers(
    test_settings: Settings, worker_factory: WorkerFactory
) -> None:
    settings = test_settings.with_(web_port=free_port(), ml=False)  # only the carts wait: no label timers
    publish(settings, EXAMPLES / "abandoned_cart.yaml")
    worker_factory.start(settings)
    now = int(time.time() * 1000)
    carts = [event(f"m{i}", "cart.created", now - 60_000, cart_id=f"c{i}") for i in range(5)]
    produce_events(settings, carts)
    asyncio.run(produce(settings.bootstrap, settings.topic("events"), [(b"x", b"not json")]))
    wait_processed(settings)
    text = urllib.request.urlopen(f"http://127.0.0.1:{settings.web_port}/metrics", timeout=5).read().decode()
    assert sample(text, "events_total") == 6
    assert sample(text, "events_applied_total") == 5
    assert sample(text, r'dead_letters_total\{reason="not_json"\}') == 1
    assert sample(text, "timers_pending") == 5  # five carts, each waiting 2 h
    assert sample(text, "step_records_total") >= 10  # entered + waited per run
    assert re.search(r'^switchyard_consumer_lag\{partition="\d+"\} 0\.0$', text, re.MULTILINE)
    families = {f.name: f for f in text_string_to_metric_families(text)}  # the real page parses
    assert families["switchyard_events"].samples[0].value == 6
