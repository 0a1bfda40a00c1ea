"""The builder UI in a real headless Chromium (Debian's /usr/bin/chromium driven by Playwright for Python),
against a real worker (web port on) and the analytics writer: build a workflow by drag and drop, configure a
wait_for with a timeout, fix what the validation overlay shows, publish, send events through the API, and
watch the per-node counts change. Each step's screenshot is saved (SWITCHYARD_UI_SCREENSHOTS, else the
test's tmp dir) and checked: the elements are asserted before the shot, and the overlay's red is measured
in the node's own screenshot (present while broken, gone once fixed)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.agents.api.fixtures import ApiWorker, api_settings, start_api_worker
from tests.sinks.analytics.fixtures import WriterProcess, free_port

CHROMIUM = Path("/usr/bin/chromium")
UI = Path(__file__).resolve().parents[2] / "ui"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
INVALID_RED = (221, 51, 51)  # .sy-node.invalid border (#d33)

pytestmark = [
    pytest.mark.kafka,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium: apt-get install -y chromium"),
]


def ensure_ui_built() -> None:
    """`npm ci && npm run build` when ui/dist is missing (the Makefile's ui target does the same)."""
    if (UI / "dist" / "index.html").exists():
        return
    npm = shutil.which("npm")
    assert npm, "npm is needed to build the builder UI (ui/): install Node.js 20+ with npm 11"
    if not (UI / "node_modules").exists():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=UI, check=True)
    subprocess.run([npm, "run", "build"], cwd=UI, check=True)


@pytest.fixture(scope="module")
def stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiWorker]:
    ensure_ui_built()
    tmp = tmp_path_factory.mktemp("ui")
    settings = api_settings(kafka_bootstrap, tmp / "data")
    port = free_port()
    worker = start_api_worker(settings, tmp / "worker.log", {"SWITCHYARD_ANALYTICS_PORT": str(port)})
    writer = WriterProcess(settings, f"chdb://{tmp / 'analytics'}", tmp / "analytics.log", port, {}).start()
    yield worker
    writer.stop()
    worker.process.stop()


def red_pixels(png: Path) -> int:
    from PIL import Image

    with Image.open(png) as image:
        raw = image.convert("RGB").tobytes()
    pixels = (raw[i : i + 3] for i in range(0, len(raw), 3))
    return sum(1 for p in pixels if all(abs(a - b) <= 12 for a, b in zip(p, INVALID_RED, strict=True)))


def post_events(base: str, events: list[dict[str, Any]]) -> None:
    request = urllib.request.Request(f"{base}/v1/events", data=json.dumps(events).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 202


def test_build_validate_publish_and_watch_counts(stack: ApiWorker, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    shots = Path(os.environ.get("SWITCHYARD_UI_SCREENSHOTS") or tmp_path / "screens")
    shots.mkdir(parents=True, exist_ok=True)
    base = stack.client.base

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        try:
            page.goto(f"{base}/ui/#/builder")  # the builder itself (/ui/ shows the home view)
            page.get_by_test_id("workflow-id").fill("ui_flow")

            def shot(name: str) -> Path:
                path = shots / f"{name}.png"
                page.screenshot(path=str(path))
                assert path.stat().st_size > 10_000
                return path

            def drop(kind: str, x: int, y: int) -> None:
                page.drag_and_drop(f"[data-testid=palette-{kind}]", "[data-testid=canvas]",
                                   target_position={"x": x, "y": y})  # fmt: skip

            # 1. drag and drop a trigger, a wait_for, an action and a goal
            drop("trigger", 250, 40)
            page.get_by_test_id("field-event").fill("cart.created")
            drop("wait_for", 250, 200)
            drop("action", 520, 380)
            drop("goal", 120, 380)
            for node in ("__trigger__", "wait_for_1", "action_2", "goal_3"):
                expect(page.get_by_test_id(f"node-{node}")).to_be_visible()
            shot("1-dropped")

            # 2. connect the trigger, configure the wait_for with a timeout; leave on_timeout unset
            page.get_by_test_id("node-__trigger__").click()
            page.get_by_test_id("field-start").select_option("wait_for_1")
            page.get_by_test_id("node-wait_for_1").click()
            page.get_by_test_id("field-event").fill("purchase")
            page.get_by_test_id("field-timeout").fill("2h")
            page.get_by_test_id("field-on_event").select_option("goal_3")
            page.get_by_test_id("node-goal_3").click()
            page.get_by_test_id("field-event").fill("purchase")
            page.get_by_test_id("field-filter").fill("event.amount >")  # a condition-language error
            expect(page.get_by_test_id("issue-filter")).to_contain_text("condition does not parse")
            shot("2-condition-error-in-place")
            page.get_by_test_id("field-filter").fill("event.amount > 0")
            expect(page.get_by_test_id("issue-filter")).to_have_count(0)

            # 3. the overlay shows what is wrong: the wait_for has no timeout branch
            expect(page.get_by_test_id("node-issue-wait_for_1")).to_contain_text("on_timeout")
            expect(page.get_by_test_id("publish")).to_be_disabled()
            shot("3-overlay-missing-timeout-branch")
            page.get_by_test_id("node-wait_for_1").click()
            page.get_by_test_id("field-on_timeout").select_option("goal_3")
            expect(page.get_by_test_id("node-issue-wait_for_1")).to_have_count(0)
            # ... and now that the graph is whole, the action nobody links to is unreachable
            expect(page.get_by_test_id("node-issue-action_2")).to_contain_text("unreachable")
            broken_node = shots / "3-action-node.png"
            page.get_by_test_id("node-action_2").screenshot(path=str(broken_node))
            assert red_pixels(broken_node) > 50
            shot("3-overlay-unreachable")

            # 4. fix it on the wait_for: its timeout leads to the action
            page.get_by_test_id("field-on_timeout").select_option("action_2")
            expect(page.get_by_test_id("validation-summary")).to_have_text("valid")
            expect(page.get_by_test_id("node-issue-action_2")).to_have_count(0)
            fixed_node = shots / "4-action-node.png"
            page.get_by_test_id("node-action_2").screenshot(path=str(fixed_node))
            assert red_pixels(fixed_node) == 0
            shot("4-fixed")

            # 5. publish with a version note; the history shows it
            page.get_by_test_id("version-note").fill("first version from the canvas")
            page.get_by_test_id("publish").click()
            expect(page.get_by_test_id("message")).to_have_text("published v1")
            expect(page.get_by_test_id("history")).to_contain_text("first version from the canvas")
            expect(page.get_by_test_id("count-wait_for_1")).to_contain_text(
                "entered 0 · waiting 0 · exited 0", timeout=30_000
            )
            shot("5-published")

            # 6. events through the API; the per-node counts change on the canvas
            now = int(time.time() * 1000)
            post_events(base, [
                {"event_id": f"ui-{c}", "contact_id": c, "type": "cart.created", "ts": now - 60_000,
                 "properties": {}} for c in ("u1", "u2", "u3")
            ] + [{"event_id": "ui-buy", "contact_id": "u3", "type": "purchase", "ts": now - 30_000,
                  "properties": {"amount": 12}}])  # fmt: skip
            expect(page.get_by_test_id("count-wait_for_1")).to_contain_text(
                "entered 3 · waiting 2 · exited 0", timeout=60_000
            )
            expect(page.get_by_test_id("count-goal_3")).to_contain_text(
                "entered 1 · waiting 0 · exited 0 · converted 1"
            )
            # of the 3 runs that reached the wait_for, 1 went on to the goal (its event), none to the action
            expect(page.get_by_test_id("edge-share-wait_for_1:on_event")).to_have_text("33%")
            expect(page.get_by_test_id("edge-share-wait_for_1:on_timeout")).to_have_text("0%")
            expect(page.get_by_test_id("funnel")).to_contain_text("entered 3 · goals 1")
            shot("6-counts")

            # 7. a contact's path on the canvas
            page.get_by_test_id("tab-contact").click()
            page.get_by_test_id("contact-id").fill("u3")
            page.get_by_test_id("lookup").click()
            expect(page.get_by_test_id("contact-result")).to_contain_text("goal")
            expect(page.get_by_test_id("node-goal_3")).to_have_class(lambda_class("on-path"))
            shot("7-contact-path")
        finally:
            browser.close()

    stored = json.loads(urllib.request.urlopen(f"{base}/v1/workflows/ui_flow", timeout=10).read())
    published = stored["definitions"][-1]
    assert published["nodes"]["wait_for_1"]["timeout"] == "2h"
    assert published["layout"]["action_2"]["x"] > published["layout"]["goal_3"]["x"]  # layout kept apart


def lambda_class(name: str) -> Any:
    import re

    return re.compile(rf"(^|\s){name}(\s|$)")
