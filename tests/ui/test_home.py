"""The home view in a real headless Chromium against a real worker (issue 20, "Home"): /ui/ lists the
catalog's workflows with status and version, search by name or id and the status filter narrow the list,
live figures show a dash when no analytics endpoint answers (503), a row opens its workflow in the builder and
"Home" returns; "New from template" shows the examples with their one-line description and opens one."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.agents.api.fixtures import ApiWorker, example_definition
from tests.ui.fixtures import launch_chromium, open_tab, shot
from tests.ui.test_builder import CHROMIUM

pytestmark = [
    pytest.mark.kafka,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium: apt-get install -y chromium"),
]


def add_workflow(worker: ApiWorker, example: str, workflow_id: str, name: str, publish: bool) -> None:
    definition: dict[str, Any] = copy.deepcopy(example_definition(example))
    for key in ("version", "status"):
        definition.pop(key, None)
    definition.update(id=workflow_id, name=name)
    status, _ = worker.client.call("POST", "/v1/workflows", definition)
    assert status == 201
    if publish:
        status, _ = worker.client.call(
            "POST", f"/v1/workflows/{workflow_id}/publish", {"note": "from the test"}
        )
        assert status == 200


@pytest.fixture(scope="module")
def catalog(api_worker: ApiWorker) -> ApiWorker:
    add_workflow(api_worker, "abandoned_cart", "cart_recovery", "Cart recovery", publish=True)
    add_workflow(api_worker, "welcome_series", "welcome_new", "Welcome newcomers", publish=True)
    add_workflow(api_worker, "lead_nurturing", "nurture_draft", "Nurture leads (draft)", publish=False)
    return api_worker


@pytest.fixture(scope="module")
def browser(catalog: ApiWorker) -> Iterator[Any]:
    yield from launch_chromium()


@pytest.fixture
def page(browser: Any, catalog: ApiWorker) -> Iterator[Any]:
    yield from open_tab(browser, f"{catalog.client.base}/ui/")


ROWS = "[data-testid^=home-row-]"


def test_home_lists_searches_filters_and_opens(
    page: Any, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    # the home view is what /ui/ shows first
    expect(page.get_by_test_id("home")).to_be_visible()
    expect(page.locator(ROWS)).to_have_count(3)
    expect(page.get_by_test_id("home-status-cart_recovery")).to_have_text("published")
    expect(page.get_by_test_id("home-status-nurture_draft")).to_have_text("draft")
    expect(page.get_by_test_id("home-row-cart_recovery")).to_contain_text("Cart recovery")
    expect(page.get_by_test_id("home-row-cart_recovery")).to_contain_text("v1")
    # no analytics endpoint: the stats answer 503, the figures are dashes
    for figure in ("entered", "active", "converted"):
        expect(page.get_by_test_id(f"home-{figure}-cart_recovery")).to_have_text("\u2013")  # an en dash
    expect(page.get_by_test_id("home-trend-cart_recovery")).to_have_text("\u2013")  # and no sparkline
    expect(page.get_by_test_id("home-spark-cart_recovery")).to_have_count(0)
    shot(page, request, tmp_path, "home")

    # search by name, then by id
    search = page.get_by_test_id("home-search")
    search.fill("welcome")
    expect(page.locator(ROWS)).to_have_count(1)
    expect(page.get_by_test_id("home-row-welcome_new")).to_be_visible()
    search.fill("CART_REC")
    expect(page.locator(ROWS)).to_have_count(1)
    expect(page.get_by_test_id("home-row-cart_recovery")).to_be_visible()
    search.fill("nothing like this")
    expect(page.locator(ROWS)).to_have_count(0)
    expect(page.get_by_test_id("home-empty")).to_have_text("No workflow matches.")
    search.fill("")

    # filter by status
    page.get_by_test_id("home-status").select_option("draft")
    expect(page.locator(ROWS)).to_have_count(1)
    expect(page.get_by_test_id("home-row-nurture_draft")).to_be_visible()
    page.get_by_test_id("home-status").select_option("published")
    expect(page.locator(ROWS)).to_have_count(2)
    expect(page.get_by_test_id("home-row-nurture_draft")).to_have_count(0)
    shot(page, request, tmp_path, "filtered")

    # a row opens its workflow in the builder
    page.get_by_test_id("home-row-cart_recovery").click()
    expect(page.get_by_test_id("home")).to_have_count(0)
    expect(page.get_by_test_id("workflow-id")).to_have_value("cart_recovery")
    expect(page.get_by_test_id("message")).to_have_text("opened cart_recovery v1")
    expect(page.get_by_test_id("node-wait_2h")).to_be_visible()
    expect(page.get_by_test_id("node-wait_2h")).to_contain_text("Wait 2 hours")
    expect(page.get_by_test_id("node-reminder")).to_contain_text(
        "Send email · Hi, you left something in your cart"
    )
    expect(page.get_by_test_id("node-wait_purchase")).to_contain_text("Wait up to 24 h for purchase")
    expect(page.get_by_test_id("node-purchased")).to_contain_text("Goal: purchase")
    expect(page.get_by_test_id("node-__trigger__")).to_contain_text("When cart.created")
    shot(page, request, tmp_path, "opened")

    # "Home" returns to the list (and the browser's Back from the builder does too)
    page.get_by_test_id("go-home").click()
    expect(page.locator(ROWS)).to_have_count(3)
    page.get_by_test_id("home-row-nurture_draft").click()
    expect(page.get_by_test_id("workflow-id")).to_have_value("nurture_draft")
    expect(page.get_by_test_id("node-welcome_opened")).to_be_visible()
    page.go_back()
    expect(page.locator(ROWS)).to_have_count(3)


def test_new_from_template_gallery(page: Any, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page.get_by_test_id("new-from-template").click()
    gallery = page.get_by_test_id("gallery")
    expect(gallery).to_be_visible()
    expect(gallery.locator(".gallery-card")).to_have_count(13)  # the example workflows
    card = page.get_by_test_id("gallery-abandoned_cart")
    expect(card).to_contain_text("Abandoned cart")
    expect(card).to_contain_text(example_definition("abandoned_cart")["description"])
    expect(page.get_by_test_id("gallery-lead_nurturing")).to_contain_text(
        example_definition("lead_nurturing")["description"]
    )
    shot(page, request, tmp_path, "gallery")
    card.click()
    expect(page.get_by_test_id("home")).to_have_count(0)
    expect(page.get_by_test_id("workflow-id")).to_have_value("abandoned_cart")
    expect(page.get_by_test_id("node-notify_sales")).to_contain_text("Notify · sales")
    shot(page, request, tmp_path, "from-template")
