"""Suggestions in the builder (issue 19, "In the builder"), in a real headless Chromium against a real worker
and a real analytics writer fed real action and step records: a suggestion shows as a badge on its node and
in the suggestions pane with its evidence; Apply shows the diff and the planned draft's validation before
anything is saved, "Save as draft" stores it, opens it on the canvas and shows that it validates, and
`switchyard report recommendations` counts the acceptance; Dismiss asks for an optional reason in an
accessible dialog and the reason is recorded; a workflow with too little data has no badge. Each step's
screenshot is saved (SWITCHYARD_UI_SCREENSHOTS, else the test's tmp dir)."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson
import pytest

from agents.topic_reader import read_to_end
from engine.topics import RECOMMENDATIONS
from tests.agents.api.fixtures import ApiWorker, worker_with_analytics
from tests.agents.api.test_recommendations import TOKEN, endpoint_report, entered, report, sends
from tests.sinks.analytics.fixtures import WriterProcess, produce_json, wait_until
from tests.ui.fixtures import launch_chromium, open_tab, shot, when_still
from tests.ui.test_builder import CHROMIUM
from tests.ui.test_home import add_workflow

pytestmark = [
    pytest.mark.kafka,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium: apt-get install -y chromium"),
]

RICH = "cart_recs"  # 100 reminder sends and 100 runs without a goal: two suggestions
SPARSE = "cart_sparse"  # 99 of each: below the minimum sample, no suggestion
BADGES = "[data-testid^=node-recs-]"


def rows_of(writer: WriterProcess, name: str, workflow: str) -> list[dict[str, Any]]:
    answer = endpoint_report(writer, name)
    rows = [dict(zip(answer["columns"], row, strict=True)) for row in answer["rows"]]
    return [r for r in rows if r.get("workflow_id", workflow) == workflow]


def has_figures(writer: WriterProcess, workflow: str, count: int) -> bool:
    sent = [r["sent"] for r in rows_of(writer, "sends", workflow) if r["node"] == "reminder"]
    runs = [r["runs"] for r in rows_of(writer, "funnel", workflow) if r["step"] == "entered"]
    return sent == [count] and runs == [count]


@pytest.fixture(scope="module")
def stack(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ApiWorker, WriterProcess]]:
    """Two published copies of abandoned_cart with real records in the analytics store: RICH enough for
    suggestions, SPARSE one short of the minimum sample."""
    tmp = tmp_path_factory.mktemp("ui-recs")
    for worker, writer in worker_with_analytics(kafka_bootstrap, tmp, TOKEN):  # stops them after the module
        seed(worker, writer)
        yield worker, writer


def seed(worker: ApiWorker, writer: WriterProcess) -> None:
    for workflow in (RICH, SPARSE):
        add_workflow(worker, "abandoned_cart", workflow, workflow, publish=True)
    now, topic = int(time.time() * 1000), worker.settings.topic
    seeds = [(RICH, 0, 100), (SPARSE, 1000, 99)]  # distinct action, run and contact ids
    records = [
        (topic(t), k, d)
        for workflow, first, count in seeds
        for t, k, d in sends(first, count, now, workflow) + entered(count, now, workflow, first)
    ]
    asyncio.run(produce_json(worker.settings.bootstrap, records))
    wait_until(lambda: all(has_figures(writer, w, n) for w, _, n in seeds), 120, writer.log_tail)


@pytest.fixture(scope="module")
def browser(stack: tuple[ApiWorker, WriterProcess]) -> Iterator[Any]:
    yield from launch_chromium()


@pytest.fixture
def page(browser: Any, stack: tuple[ApiWorker, WriterProcess]) -> Iterator[Any]:
    yield from open_tab(browser, f"{stack[0].client.base}/ui/#/builder")


def open_workflow(page: Any, workflow: str) -> None:
    """As a user does: the API token in the toolbar, then the workflow's id and Open."""
    from playwright.sync_api import expect

    page.get_by_placeholder("API token").fill(TOKEN)
    page.get_by_test_id("workflow-id").fill(workflow)
    page.get_by_test_id("open").click()
    expect(page.get_by_test_id("message")).to_contain_text(f"opened {workflow}")


def api_get(worker: ApiWorker, path: str) -> dict[str, Any]:
    request = urllib.request.Request(worker.client.base + path)
    request.add_header("Authorization", f"Bearer {TOKEN}")
    with urllib.request.urlopen(request, timeout=30) as response:
        answer: dict[str, Any] = json.loads(response.read())
    return answer


def recorded(worker: ApiWorker) -> list[dict[str, Any]]:
    """The records on the `recommendations` topic; read in a thread of its own, since Playwright's sync API
    keeps an event loop running in this one."""
    reading = read_to_end(worker.settings.bootstrap, worker.settings.topic(RECOMMENDATIONS))
    with ThreadPoolExecutor(1) as pool:
        records = pool.submit(asyncio.run, reading).result()
    return [orjson.loads(record.value) for record in records if record.value is not None]


def counted(
    writer: WriterProcess, worker: ApiWorker, kind: str, applied: int, dismissed: int
) -> dict[str, Any]:
    """The kind's row of `switchyard report recommendations --json` (the real CLI on the same analytics
    store), once the writer has stored the outcomes."""

    def row(answer: dict[str, Any]) -> dict[str, Any]:
        rows = [dict(zip(answer["columns"], r, strict=True)) for r in answer["rows"]]
        return next((r for r in rows if r["kind"] == kind), {})

    wait_until(
        lambda: (row(endpoint_report(writer, "recommendations")).get("applied"),
                 row(endpoint_report(writer, "recommendations")).get("dismissed")) == (applied, dismissed),
        90, writer.log_tail,
    )  # fmt: skip
    return row(report(worker, writer, "recommendations"))


def test_apply_shows_the_diff_saves_a_valid_draft_and_is_counted(
    page: Any, stack: tuple[ApiWorker, WriterProcess], request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    worker, writer = stack
    open_workflow(page, RICH)
    # the suggestions are on their nodes: the fixed wait before the reminder, the goal nobody reaches
    expect(page.get_by_test_id("node-recs-wait_2h")).to_contain_text("1 suggestion")
    expect(page.get_by_test_id("node-recs-wait_2h")).to_contain_text("fixed wait before send")
    expect(page.get_by_test_id("node-recs-purchased")).to_contain_text("goal never reached")
    expect(page.locator(BADGES)).to_have_count(2)
    shot(page, request, tmp_path, "1-badges")

    # the badge opens the pane: kind, evidence figures, expected effect
    when_still(page.get_by_test_id("node-recs-wait_2h")).click()
    card = page.get_by_test_id("rec-fixed_wait_before_send")
    expect(card).to_contain_text("Fixed wait before a send")
    expect(page.get_by_test_id("rec-evidence-fixed_wait_before_send")).to_contain_text("sent 100")
    expect(page.get_by_test_id("rec-evidence-fixed_wait_before_send")).to_contain_text("duration 2h")
    expect(page.get_by_test_id("rec-effect-fixed_wait_before_send")).to_contain_text("went out 100 times")
    expect(page.get_by_test_id("tab-suggestions")).to_have_text("suggestions (2)")
    expect(page.get_by_test_id("rec-apply-goal_never_reached")).to_be_disabled()  # no automatic change
    shot(page, request, tmp_path, "2-pane")

    # Apply first shows the change as a diff, with the planned draft's validation; nothing is saved yet
    page.get_by_test_id("rec-apply-fixed_wait_before_send").click()
    dialog = page.get_by_role("dialog", name="Apply: Fixed wait before a send at wait_2h")
    expect(dialog).to_be_visible()
    duration = page.get_by_test_id("rec-diff-/nodes/wait_2h/duration")
    until = page.get_by_test_id("rec-diff-/nodes/wait_2h/until")
    expect(duration).to_contain_text('"2h"')
    expect(duration.locator(".rec-after")).to_have_text("(none)")
    expect(until.locator(".rec-before")).to_have_text("(none)")
    expect(until.locator(".rec-after")).to_have_text('"best_send_time"')
    expect(page.get_by_test_id("rec-preview-validation")).to_have_text("validates")
    expect(dialog).to_contain_text("as draft v2")
    shot(page, request, tmp_path, "3-diff")
    assert api_get(worker, f"/v1/workflows/{RICH}")["draft_version"] is None  # the preview stored nothing

    # "Save as draft" applies it: the draft opens on the canvas and validates
    page.get_by_test_id("rec-save-draft").click()
    expect(dialog).to_have_count(0)
    expect(page.get_by_test_id("message")).to_have_text("draft v2 saved")
    expect(page.get_by_test_id("rec-draft-validation")).to_have_text("validates")
    expect(page.get_by_test_id("node-title-wait_2h")).to_have_text("Wait until best_send_time")
    expect(page.get_by_test_id("validation-summary")).to_have_text("valid")
    expect(page.get_by_test_id("node-recs-wait_2h")).to_have_count(0)  # settled: only the goal's is left
    expect(page.locator(BADGES)).to_have_count(1)
    shot(page, request, tmp_path, "4-draft-opened")
    # opened again later (a fresh page), the suggestion is shown as applied: the draft's version note names it
    page.reload()
    open_workflow(page, RICH)
    expect(page.get_by_test_id("message")).to_have_text(f"opened {RICH} v2")
    page.get_by_test_id("tab-suggestions").click()
    expect(page.get_by_test_id("rec-fixed_wait_before_send")).to_contain_text("applied as draft v2")
    expect(page.get_by_test_id("node-recs-purchased")).to_be_visible()
    expect(page.get_by_test_id("node-recs-wait_2h")).to_have_count(0)
    stored = api_get(worker, f"/v1/workflows/{RICH}")
    assert stored["draft_version"] == 2 and stored["versions"][-1]["status"] == "draft"
    assert stored["definitions"][-1]["nodes"]["wait_2h"] == {
        "type": "wait", "until": "best_send_time", "next": "reminder"
    }  # fmt: skip

    # the acceptance, as `switchyard report recommendations` counts it
    row = counted(writer, worker, "fixed_wait_before_send", applied=1, dismissed=0)
    assert row == {"kind": "fixed_wait_before_send", "shown": 1, "applied": 1, "dismissed": 0,
                   "acceptance_rate": 1.0, "applied_per_shown": 1.0}  # fmt: skip


def test_dismiss_asks_for_a_reason_and_records_it(
    page: Any, stack: tuple[ApiWorker, WriterProcess], request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    worker, writer = stack
    open_workflow(page, RICH)
    when_still(page.get_by_test_id("node-recs-purchased")).click()
    page.get_by_test_id("rec-dismiss-goal_never_reached").click()
    dialog = page.get_by_role("dialog", name="Dismiss: Goal never reached at purchased")
    reason = dialog.get_by_label("Reason (optional)")
    expect(reason).to_be_focused()  # the dialog takes the focus
    reason.fill("the goal event comes from the CRM")
    shot(page, request, tmp_path, "1-reason")
    page.keyboard.press("Tab")  # the buttons are reachable by keyboard
    expect(dialog.get_by_role("button", name="Dismiss suggestion")).to_be_focused()
    page.keyboard.press("Tab")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    expect(dialog).to_have_count(0)
    expect(page.get_by_test_id("rec-goal_never_reached")).to_contain_text(
        "dismissed: the goal event comes from the CRM"
    )
    expect(page.get_by_test_id("node-recs-purchased")).to_have_count(0)
    shot(page, request, tmp_path, "2-dismissed")

    row = counted(writer, worker, "goal_never_reached", applied=0, dismissed=1)
    assert row == {"kind": "goal_never_reached", "shown": 1, "applied": 0, "dismissed": 1,
                   "acceptance_rate": 0.0, "applied_per_shown": 0.0}  # fmt: skip
    dismissals = [r for r in recorded(worker) if r["what"] == "dismissed"]
    assert [(r["kind"], r["node"], r["reason"]) for r in dismissals] == [
        ("goal_never_reached", "purchased", "the goal event comes from the CRM")
    ]


def test_no_badge_without_enough_data(page: Any, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    open_workflow(page, SPARSE)
    expect(page.get_by_test_id("node-wait_2h")).to_be_visible()
    page.get_by_test_id("tab-suggestions").click()
    expect(page.get_by_test_id("recs-none")).to_contain_text("No suggestions for v1")
    expect(page.get_by_test_id("tab-suggestions")).to_have_text("suggestions")
    expect(page.locator(BADGES)).to_have_count(0)
    shot(page, request, tmp_path, "none")
