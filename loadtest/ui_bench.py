"""The builder's weight and start-up: bundle sizes as served, and time to interactive in Debian's Chromium.

Starts a broker (the benchmark one) and a worker with the 12 example workflows published, then opens
/ui/ in a fresh headless Chromium context N times (nothing cached) at 1440 by 900 and reads, in the page:
- the navigation's responseEnd and domContentLoaded (ms after the navigation started);
- interactive: when the home view lists the workflows and "New from template" can be clicked (the first
  screen a marketer uses), taken with performance.now() inside the page.
Baseline in the same run: one round trip to the same worker for a small document (GET /v1/openapi.json),
the floor under any page load.

    python -m loadtest.ui_bench [--runs 7]
Needs Debian's chromium (/usr/bin/chromium) and the built UI (make ui).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agents.catalog import plan_publish, write_records
from agents.kafka_admin import ensure_worker_topics
from agents.settings import Settings
from agents.worker_process import REPO, WorkerProcess
from loadtest.baseline import BENCH_CONTROLLER_PORT, BENCH_PORT, BROKER_DIR
from loadtest.kafka_bench import bench_broker

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"]
DIST = REPO / "ui" / "dist"
INTERACTIVE = """() => new Promise((done) => {
  const ready = () => document.querySelector("[data-testid=new-from-template]")
    && document.querySelectorAll("[data-testid^=home-row-]").length > 0;
  const check = () => ready() ? done(performance.now()) : requestAnimationFrame(check);
  check();
})"""


def sizes() -> dict[str, int]:
    out = {}
    for path in sorted((DIST / "assets").iterdir()):
        out[path.name] = path.stat().st_size
    return out


def examples() -> list[dict[str, Any]]:
    import yaml

    return [yaml.safe_load(p.read_text()) for p in sorted((REPO / "examples" / "workflows").glob("*.yaml"))]


def measure(base: str, runs: int) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    figures: dict[str, list[float]] = {"response_end": [], "dom_content_loaded": [], "interactive": [],
                                       "worker_round_trip": []}  # fmt: skip
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        for _ in range(runs):
            context = browser.new_context(viewport={"width": 1440, "height": 900})
            page = context.new_page()
            page.goto(f"{base}/ui/")
            interactive = page.evaluate(INTERACTIVE)
            nav = page.evaluate("() => performance.getEntriesByType('navigation')[0].toJSON()")
            figures["response_end"].append(nav["responseEnd"])
            figures["dom_content_loaded"].append(nav["domContentLoadedEventEnd"])
            figures["interactive"].append(interactive)
            started = time.perf_counter()
            urllib.request.urlopen(f"{base}/v1/openapi.json", timeout=10).read()
            figures["worker_round_trip"].append((time.perf_counter() - started) * 1000)
            context.close()
        browser.close()
    return figures


async def prepare(settings: Settings) -> None:
    await ensure_worker_topics(settings)
    published = [plan_publish({}, definition) for definition in examples()]
    await write_records(settings.bootstrap, settings.topic("workflows"), published)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="loadtest.ui_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    if not CHROMIUM.exists() or not (DIST / "index.html").exists():
        raise SystemExit("loadtest.ui_bench: needs /usr/bin/chromium and the built UI (make ui)")
    tag = f"uibench-{int(time.time())}"
    with (
        bench_broker(BROKER_DIR, BENCH_PORT, BENCH_CONTROLLER_PORT) as bootstrap,
        tempfile.TemporaryDirectory() as tmp,
    ):
        settings = Settings(external_kafka=bootstrap, data_dir=Path(tmp), app_id=tag, topic_prefix=f"{tag}.",
                            partitions=2, web_port=16166, log_level="info")  # fmt: skip
        asyncio.run(prepare(settings))
        no_analytics = {"SWITCHYARD_ANALYTICS_PORT": "0"}
        worker = WorkerProcess(settings, Path(tmp) / "worker.log").start(extra_env=no_analytics)
        try:
            figures = measure(f"http://127.0.0.1:{settings.web_port}", args.runs)
        finally:
            worker.stop()
    print("assets as built (raw bytes):", {name: f"{size / 1024:.1f} kB" for name, size in sizes().items()})
    for name, values in figures.items():
        p50, worst = statistics.median(values), max(values)
        print(f"{name:<20} p50 {p50:7.0f} ms   max {worst:7.0f} ms   ({len(values)} cold loads)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
