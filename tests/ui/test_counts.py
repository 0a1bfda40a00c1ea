"""Live figures from the analytics views in a real headless Chromium against a real worker and the analytics
writer (issue 20: "the last 7 days as a sparkline", "per-node live counts (entered, waiting now, exited
here) and conversion on edges"). Events stamped on two past days enter runs of a small branching workflow:
the home view's sparkline reads out the runs entered on each of the last 7 UTC days, the canvas's cards say
how many runs entered, wait at and exited at each node, and each edge shows the share of the runs that
reached its source and went on along it; no share where the source was reached by no run."""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.durations import DAY
from tests.agents.api.fixtures import ApiWorker
from tests.agents.fixtures import wait_processed
from tests.sinks.analytics.fixtures import wait_until
from tests.ui.fixtures import launch_chromium, open_tab, shot
from tests.ui.test_builder import CHROMIUM, post_events, stack

pytestmark = [
    pytest.mark.kafka,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium: apt-get install -y chromium"),
]
__all__ = ["stack"]

FLOW = {
    "id": "counts_flow",
    "name": "Counts by plan",
    "trigger": {"event": "signup"},
    "start": "route",
    "nodes": {
        "route": {"type": "branch", "branches": [{"when": "event.plan == 'pro'", "next": "stop"},
                                                  {"when": "event.plan == 'vip'", "next": "vip_hold"}],
                  "default": "hold"},
        "stop": {"type": "exit", "reason": "pro plan"},
        "hold": {"type": "wait", "duration": "30d", "next": "done"},
        "vip_hold": {"type": "wait", "duration": "30d", "next": "done"},
        "done": {"type": "exit", "reason": "waited"},
    },
}  # fmt: skip
# (contact, plan, days ago): one run entered four days ago, three two days ago; nobody is on the vip plan
SIGNUPS = [("k1", "pro", 4), ("k2", "pro", 2), ("k3", "pro", 2), ("k4", "free", 2)]


def utc_day(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).date().isoformat()


@pytest.fixture(scope="module")
def traffic(stack: ApiWorker) -> dict[str, Any]:
    """The workflow published, the signups sent with their event times; what each UTC day should show."""
    client, now = stack.client, int(time.time() * 1000)
    assert client.call("POST", "/v1/workflows", FLOW)[0] == 201
    assert client.call("POST", "/v1/workflows/counts_flow/publish", {"note": "counts"})[0] == 200
    stamps = {contact: now - ago * DAY for contact, _, ago in SIGNUPS}
    post_events(client.base, [{"event_id": f"cf-{c}", "contact_id": c, "type": "signup", "ts": stamps[c],
                               "properties": {"plan": plan}} for c, plan, _ in SIGNUPS])  # fmt: skip
    wait_processed(stack.settings)
    per_day = Counter(utc_day(ts) for ts in stamps.values())
    days = [utc_day(now - back * DAY) for back in range(6, -1, -1)]
    assert len([d for d in days if per_day[d]]) == 2  # two different days within the last 7

    def counted() -> bool:
        status, stats = client.call("GET", "/v1/workflows/counts_flow/stats?days=7")
        hold = stats.get("nodes", {}).get("hold", {})
        return bool(status == 200 and stats["entered"] == len(SIGNUPS) and hold.get("live"))

    wait_until(counted, 60)
    return {"days": days, "per_day": per_day}


@pytest.fixture(scope="module")
def browser(traffic: dict[str, Any]) -> Iterator[Any]:
    yield from launch_chromium()


@pytest.fixture
def page(browser: Any, stack: ApiWorker) -> Iterator[Any]:
    yield from open_tab(browser, f"{stack.client.base}/ui/")


def test_sparkline_cards_and_edge_shares(
    page: Any, traffic: dict[str, Any], request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    plans = Counter(plan for _, plan, _ in SIGNUPS)
    total = len(SIGNUPS)

    # home: the runs entered on each of the last 7 UTC days, oldest first, 0 on the days without
    values = [traffic["per_day"][day] for day in traffic["days"]]
    assert values.count(0) == 5
    spark = page.get_by_test_id("home-spark-counts_flow")
    expect(spark).to_have_attribute("role", "img")
    expect(spark).to_have_attribute(
        "aria-label",
        "Runs entered per day: "
        + ", ".join(f"{d}: {v}" for d, v in zip(traffic["days"], values, strict=True)),
    )
    expect(page.get_by_test_id("home-entered-counts_flow")).to_have_text(str(total))
    assert (
        page.locator("[data-testid=home-spark-counts_flow] polyline").get_attribute("points").count(",") == 7
    )
    shot(page, request, tmp_path, "home-sparkline")

    # the canvas: entered, waiting now and exited here on each card
    page.get_by_test_id("home-row-counts_flow").click()
    expect(page.get_by_test_id("count-route")).to_contain_text(f"entered {total} · waiting 0 · exited 0")
    expect(page.get_by_test_id("count-stop")).to_contain_text(
        f"entered {plans['pro']} · waiting 0 · exited {plans['pro']}"
    )
    expect(page.get_by_test_id("count-hold")).to_contain_text(
        f"entered {plans['free']} · waiting {plans['free']} · exited 0"
    )
    expect(page.get_by_test_id("count-vip_hold")).to_contain_text("entered 0 · waiting 0 · exited 0")

    # conversion on the edges: of the runs that reached the source, the share that went on along the edge
    def share(went: int, reached: int) -> str:
        return f"{round(100 * went / reached)}%"

    expect(page.get_by_test_id("edge-share-route:branches.0.next")).to_have_text(share(plans["pro"], total))
    expect(page.get_by_test_id("edge-share-route:default")).to_have_text(share(plans["free"], total))
    expect(page.get_by_test_id("edge-share-route:branches.1.next")).to_have_text("0%")  # reached, none went
    expect(page.get_by_test_id("edge-share-hold:next")).to_have_text("0%")  # still waiting
    expect(page.get_by_test_id("rf__edge-route:default")).to_have_attribute(
        "aria-label",
        f"default: route to hold, {share(plans['free'], total)} ({plans['free']} of the {total} runs"
        " that reached route)",
    )
    # no share where no run reached the source, nor on the trigger's edge
    expect(page.get_by_test_id("edge-share-vip_hold:next")).to_have_count(0)
    expect(page.get_by_test_id("rf__edge-vip_hold:next")).to_be_visible()
    expect(page.locator("[data-testid^='edge-share-__trigger__']")).to_have_count(0)
    shot(page, request, tmp_path, "canvas-counts")
