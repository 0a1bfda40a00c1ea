"""The builder's Chromium tests: the API worker fixture, and what a failed test leaves behind to explain
itself (a screenshot of its tab and the tab's visible text), since a browser test's failure message names
only the element it waited for."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.agents.api.fixtures import api_worker
from tests.ui.fixtures import save_shot

__all__ = ["api_worker"]

VISIBLE_TEXT_LIMIT = 4000


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome: Any = yield
    report: pytest.TestReport = outcome.get_result()
    fixtures: dict[str, Any] = getattr(item, "funcargs", {})  # a test function's: its fixtures' values
    page = fixtures.get("page")
    if report.when != "call" or not report.failed or page is None:
        return
    try:
        where = fixtures.get("tmp_path") or Path(tempfile.mkdtemp(prefix="switchyard-ui-failed-"))
        path = save_shot(page, where, f"{item.name}-failed", min_bytes=0)
        text = page.inner_text("body", timeout=5000)[:VISIBLE_TEXT_LIMIT]
    except Exception as exc:  # a crashed tab: the test's own failure is what matters
        report.sections.append(("tab at failure", f"not captured: {exc!r}"))
        return
    report.sections.append(("tab at failure", f"screenshot: {path}\nvisible text:\n{text}"))
