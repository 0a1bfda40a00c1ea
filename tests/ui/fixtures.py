"""Shared by the builder's Chromium tests: one headless Chromium per module, and a 1440 by 900 tab that fails
its test on any uncaught error in the page."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.agents.api.fixtures import ApiWorker, api_settings, start_api_worker
from tests.ui.test_builder import CHROMIUM, FLAGS, ensure_ui_built


def launch_chromium() -> Iterator[Any]:
    """Start it only after the worker: the worker's start-up runs asyncio.run, which cannot run inside
    Playwright's sync loop."""
    from playwright.sync_api import sync_playwright

    ensure_ui_built()
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        yield launched
        launched.close()


def open_tab(browser: Any, url: str, accept_dialogs: bool = False) -> Iterator[Any]:
    """A tab at ``url``; ``accept_dialogs`` answers the confirmations of destructive actions with OK."""
    errors: list[str] = []
    tab = browser.new_page(viewport={"width": 1440, "height": 900})
    tab.on("pageerror", lambda e: errors.append(str(e)))
    if accept_dialogs:
        tab.on("dialog", lambda d: d.accept())
    tab.goto(url)
    yield tab
    tab.close()
    assert errors == [], f"uncaught errors in the page: {errors}"


def save_shot(target: Any, tmp_path: Path, name: str, min_bytes: int = 10_000) -> Path:
    """A screenshot of ``target`` (a page or an element) to SWITCHYARD_UI_SCREENSHOTS, else the test's tmp
    dir; a near-empty image fails the test."""
    shots = Path(os.environ.get("SWITCHYARD_UI_SCREENSHOTS") or tmp_path / "screens")
    shots.mkdir(parents=True, exist_ok=True)
    path = shots / f"{name}.png"
    target.screenshot(path=str(path))
    assert path.stat().st_size > min_bytes
    return path


def shot(page: Any, request: pytest.FixtureRequest, tmp_path: Path, name: str) -> Path:
    """The whole tab, named after the test and the step."""
    return save_shot(page, tmp_path, f"{request.node.name}-{name}")


def when_still(target: Any, quiet_s: float = 0.4, timeout_s: float = 15.0) -> Any:
    """``target`` (a locator) once its box has not moved for ``quiet_s``. Playwright's own check wants two
    equal animation frames, shorter than the builder's delayed fit on open (120 ms after the last layout
    change), so a click right after could land on the canvas the fit had just moved under it."""
    deadline = time.monotonic() + timeout_s
    box, since = target.bounding_box(), time.monotonic()
    while time.monotonic() - since < quiet_s:
        assert time.monotonic() < deadline, f"{target} kept moving for {timeout_s} s"
        time.sleep(0.05)
        now = target.bounding_box()
        if now != box:
            box, since = now, time.monotonic()
    return target


def open_template(page: Any, name: str, as_id: str | None = None) -> None:
    """Load the template ``name`` into the builder (as the workflow ``as_id`` when given) and return once its
    cards stand still: a node clicked while the delayed fit-to-view still moves the canvas is missed."""
    from playwright.sync_api import expect

    expect(page.locator(f"[data-testid=template] option[value={name}]")).to_have_count(1)
    page.get_by_test_id("template").select_option(name)
    if as_id is not None:
        page.get_by_test_id("workflow-id").fill(as_id)
    when_still(page.get_by_test_id("node-__trigger__"))


def token_worker(kafka_bootstrap: str, tmp: Path, token: str) -> Iterator[ApiWorker]:
    """A worker whose API (not the builder's files under /ui/) wants ``token``, stopped at the end."""
    started = start_api_worker(api_settings(kafka_bootstrap, tmp / "data"), tmp / "worker.log",
                               {"SWITCHYARD_API_TOKEN": token})  # fmt: skip
    yield started
    started.process.stop()


def builder_tab(browser: Any, worker: ApiWorker, accept_dialogs: bool = False) -> Iterator[Any]:
    """The builder before its user typed the API token."""
    yield from open_tab(browser, f"{worker.client.base}/ui/#/builder", accept_dialogs=accept_dialogs)
