"""Regression tests of the builder in a real headless Chromium against a real worker (issue 20, robustness):
a node selected while another workflow is opened no longer crashes the page, Ctrl+Z undoes the canvas and
never the workflow id, an unsaved draft built from scratch simulates, and an edge is deleted by selecting it.
One browser serves the module's tests; each step's screenshot is saved (SWITCHYARD_UI_SCREENSHOTS, else the
test's tmp dir)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.agents.api.fixtures import ApiWorker
from tests.ui.fixtures import launch_chromium, open_tab, open_template, shot
from tests.ui.test_builder import CHROMIUM, lambda_class

pytestmark = [
    pytest.mark.kafka,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium: apt-get install -y chromium"),
]


@pytest.fixture(scope="module")
def browser(api_worker: ApiWorker) -> Iterator[Any]:
    yield from launch_chromium()


@pytest.fixture
def page(browser: Any, api_worker: ApiWorker) -> Iterator[Any]:
    # /ui/ is the home view; the dialogs are the confirmations of destructive actions
    yield from open_tab(browser, f"{api_worker.client.base}/ui/#/builder", accept_dialogs=True)


def test_selected_node_then_open_another_workflow(page: Any, request: pytest.FixtureRequest,
                                                  tmp_path: Path) -> None:  # fmt: skip
    from playwright.sync_api import expect

    open_template(page, "abandoned_cart")
    page.get_by_test_id("node-wait_2h").click()
    expect(page.get_by_test_id("config-panel")).to_contain_text("wait")
    page.get_by_test_id("workflow-id").fill("another_one")
    page.get_by_test_id("open").click()
    expect(page.get_by_test_id("message")).to_have_text("new workflow another_one")
    expect(page.get_by_test_id("node-wait_2h")).to_have_count(0)
    expect(page.get_by_test_id("error-boundary")).to_have_count(0)
    expect(page.get_by_test_id("palette")).to_be_visible()
    shot(page, request, tmp_path, "opened-after-selection")


def test_ctrl_z_undoes_the_canvas_not_the_id(page: Any, request: pytest.FixtureRequest,
                                             tmp_path: Path) -> None:  # fmt: skip
    from playwright.sync_api import expect

    open_template(page, "abandoned_cart")
    expect(page.get_by_test_id("node-wait_2h")).to_be_visible()
    box = page.get_by_test_id("workflow-id")
    box.fill("")
    box.type("cart_copy")
    page.get_by_test_id("node-wait_2h").click()
    page.keyboard.press("Delete")  # confirmed by the dialog handler
    expect(page.get_by_test_id("node-wait_2h")).to_have_count(0)
    box.click()
    page.keyboard.press("Control+z")
    expect(page.get_by_test_id("node-wait_2h")).to_be_visible()
    expect(box).to_have_value("cart_copy")
    page.keyboard.press("Control+Shift+z")
    expect(page.get_by_test_id("node-wait_2h")).to_have_count(0)
    page.get_by_test_id("canvas").click(position={"x": 30, "y": 30})
    page.keyboard.press("Control+z")
    expect(page.get_by_test_id("node-wait_2h")).to_be_visible()
    expect(box).to_have_value("cart_copy")
    shot(page, request, tmp_path, "undone")


def build_trigger_and_action(page: Any, workflow_id: str, action_y: int) -> None:
    """A new, unsaved workflow built by hand: a `cart.created` trigger whose start is a new action."""
    from playwright.sync_api import expect

    page.get_by_test_id("workflow-id").fill(workflow_id)
    page.get_by_test_id("open").click()
    expect(page.get_by_test_id("message")).to_have_text(f"new workflow {workflow_id}")  # drops now stay
    for kind, x, y in (("trigger", 250, 60), ("action", 250, action_y)):
        page.drag_and_drop(f"[data-testid=palette-{kind}]", "[data-testid=canvas]",
                           target_position={"x": x, "y": y})  # fmt: skip
    page.get_by_test_id("node-__trigger__").click()
    page.get_by_test_id("field-event").fill("cart.created")
    page.get_by_test_id("field-start").select_option("action_1")


def test_simulate_an_unsaved_draft(page: Any, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    build_trigger_and_action(page, "never_saved", action_y=260)
    expect(page.get_by_test_id("validation-summary")).to_have_text("valid")
    page.get_by_test_id("tab-simulate").click()
    page.get_by_test_id("run-simulate").click()
    result = page.get_by_test_id("trial-result")
    expect(result).to_contain_text("1 events, 1 actions")
    expect(result).to_contain_text("action_1 → send_email")
    shot(page, request, tmp_path, "simulated")


MIDDLE_OF_PATH = """p => {
  const point = p.getPointAtLength(p.getTotalLength() / 2), m = p.getScreenCTM();
  return {x: point.x * m.a + point.y * m.c + m.e, y: point.x * m.b + point.y * m.d + m.f};
}"""


def test_an_edge_is_deleted_by_selecting_it(page: Any, request: pytest.FixtureRequest,
                                            tmp_path: Path) -> None:  # fmt: skip
    from playwright.sync_api import expect

    build_trigger_and_action(page, "edges", action_y=560)
    edge = page.locator(".react-flow__edge[data-id='__trigger__:start']")
    expect(edge).to_have_count(1)
    # a real click on the middle of the drawn edge, where no node covers it
    middle = edge.locator(".react-flow__edge-path").evaluate(MIDDLE_OF_PATH)
    page.mouse.click(middle["x"], middle["y"])
    expect(edge).to_have_class(lambda_class("selected"))
    page.keyboard.press("Delete")
    expect(edge).to_have_count(0)
    expect(page.get_by_test_id("node-action_1")).to_be_visible()  # only the edge went
    expect(page.get_by_test_id("validation-summary")).not_to_have_text("valid")  # the trigger leads nowhere
    shot(page, request, tmp_path, "edge-deleted")
    page.get_by_test_id("canvas").click(position={"x": 600, "y": 30})
    page.keyboard.press("Control+z")
    expect(edge).to_have_count(1)
