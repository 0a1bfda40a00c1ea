"""The builder changes only what the user changed, in a real headless Chromium against a real worker that
wants a bearer token: editing one action param leaves the others exactly as they were (a "0042" stays a
string, a 20-digit reference stays exact); renaming a node moves the references to it (start, next,
on_timeout) and not a param that happens to equal its id; an id the engine would refuse, or one already
taken, is refused with a visible reason; and only a 404 opens a blank new workflow: a 401 (no token), a 503
or no answer at all says why and leaves the canvas as it was. Each step's screenshot is saved
(SWITCHYARD_UI_SCREENSHOTS, else the test's tmp dir)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.agents.api.fixtures import ApiWorker, example_definition
from tests.ui.fixtures import (
    builder_tab,
    launch_chromium,
    open_template,
    shot,
    token_worker,
    when_still,
)
from tests.ui.test_builder import CHROMIUM

pytestmark = [
    pytest.mark.kafka,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium: apt-get install -y chromium"),
]

TOKEN = "ui-fidelity-token"
KEPT = {"coupon": "0042", "order_ref": "12345678901234567890", "flag": "true", "count": 3, "tags": ["a", "1"]}
ROW_OF = "(els, key) => els.findIndex(e => e.value === key)"


@pytest.fixture(scope="module")
def worker(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiWorker]:
    yield from token_worker(kafka_bootstrap, tmp_path_factory.mktemp("ui-fidelity"), TOKEN)


@pytest.fixture(scope="module")
def browser(worker: ApiWorker) -> Iterator[Any]:
    yield from launch_chromium()


@pytest.fixture
def bare_page(browser: Any, worker: ApiWorker) -> Iterator[Any]:
    yield from builder_tab(browser, worker, accept_dialogs=True)


@pytest.fixture
def page(bare_page: Any) -> Any:
    """The builder with the API token typed into the toolbar, as its user does."""
    bare_page.get_by_placeholder("API token").fill(TOKEN)
    return bare_page


def add_welcome(worker: ApiWorker, workflow_id: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """welcome_series stored as the draft `workflow_id`, its `welcome` node's params with ``extra``."""
    definition: dict[str, Any] = copy.deepcopy(example_definition("welcome_series"))
    for key in ("version", "status"):
        definition.pop(key, None)
    definition.update(id=workflow_id, name=workflow_id)
    definition["nodes"]["welcome"]["params"].update(extra or {})
    status, _ = worker.client.call("POST", "/v1/workflows", definition)
    assert status == 201
    return definition


def stored(worker: ApiWorker, workflow_id: str) -> dict[str, Any]:
    status, answer = worker.client.call("GET", f"/v1/workflows/{workflow_id}")
    assert status == 200
    latest: dict[str, Any] = answer["definitions"][-1]
    return latest


def open_by_id(page: Any, workflow_id: str) -> None:
    from playwright.sync_api import expect

    page.get_by_test_id("workflow-id").fill(workflow_id)
    page.get_by_test_id("open").click()
    expect(page.get_by_test_id("message")).to_contain_text(f"opened {workflow_id}")


def param_row(page: Any, key: str) -> int:
    row: int = page.eval_on_selector_all("[data-testid^=params-key-]", ROW_OF, key)
    assert row >= 0, f"no param row {key!r}"
    return row


def rename_to(page: Any, new_id: str) -> None:
    box = page.get_by_test_id("node-id")
    box.fill(new_id)
    box.press("Tab")  # the rename happens when the box loses focus


def test_editing_one_param_keeps_the_others_exactly(
    page: Any, worker: ApiWorker, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    original = add_welcome(worker, "params_kept", KEPT)["nodes"]["welcome"]["params"]
    open_by_id(page, "params_kept")
    when_still(page.get_by_test_id("node-welcome")).click()
    # the rows show the values as text: nothing tells "0042" the string from 42 the number there
    expect(page.get_by_test_id(f"params-value-{param_row(page, 'coupon')}")).to_have_value("0042")
    expect(page.get_by_test_id(f"params-value-{param_row(page, 'count')}")).to_have_value("3")

    page.get_by_test_id(f"params-value-{param_row(page, 'subject')}").fill("Welcome aboard")
    expect(page.get_by_test_id("unsaved")).to_be_visible()
    shot(page, request, tmp_path, "subject-edited")
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("unsaved")).to_have_count(0)
    expect(page.get_by_test_id("message")).to_have_text("draft v1 saved")  # the draft replaced in place

    saved = stored(worker, "params_kept")["nodes"]["welcome"]["params"]
    assert saved == {**original, "subject": "Welcome aboard"}
    assert isinstance(saved["coupon"], str) and isinstance(saved["order_ref"], str)

    # a row typed in is still read as what it looks like (a number here); the others stay as they are
    page.get_by_test_id("params-add").click()
    added = page.locator("[data-testid^=params-key-]").count() - 1
    page.get_by_test_id(f"params-key-{added}").fill("limit")
    page.get_by_test_id(f"params-value-{added}").fill("10")
    expect(page.get_by_test_id("unsaved")).to_be_visible()
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("unsaved")).to_have_count(0)
    saved = stored(worker, "params_kept")["nodes"]["welcome"]["params"]
    assert saved == {**original, "subject": "Welcome aboard", "limit": 10}


def test_rename_moves_the_references_and_leaves_params_alone(
    page: Any, worker: ApiWorker, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    nodes = example_definition("welcome_series")["nodes"]
    assert nodes["support_offer"]["params"]["template"] == "support_offer"  # a param equal to the node's id
    open_template(page, "welcome_series", "renamed_flow")

    page.get_by_test_id("node-support_offer").click()
    rename_to(page, "offer_help")
    expect(page.get_by_test_id("node-offer_help")).to_be_visible()
    expect(page.get_by_test_id("node-support_offer")).to_have_count(0)
    expect(page.get_by_test_id("node-id")).to_have_value("offer_help")
    expect(page.get_by_test_id(f"params-value-{param_row(page, 'template')}")).to_have_value("support_offer")
    expect(page.get_by_test_id("template-picker")).to_have_value("support_offer")
    # the wait_for's timeout edge follows the renamed node
    expect(page.locator(".react-flow__edge[data-id='wait_usage:on_timeout']")).to_have_count(1)

    when_still(page.get_by_test_id("node-welcome")).click()  # the start node: `start` follows it
    rename_to(page, "hello")
    expect(page.get_by_test_id("node-hello")).to_be_visible()
    expect(page.locator(".react-flow__edge[data-id='__trigger__:start']")).to_have_count(1)
    expect(page.get_by_test_id("validation-summary")).to_have_text("valid")
    shot(page, request, tmp_path, "renamed")

    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("message")).to_contain_text("saved")
    saved = stored(worker, "renamed_flow")
    assert list(saved["nodes"]) == ["hello", "wait_usage", "advanced_tips", "offer_help"]  # order kept
    assert saved["start"] == "hello"
    assert saved["nodes"]["hello"] == nodes["welcome"]
    assert saved["nodes"]["offer_help"] == nodes["support_offer"]  # params untouched, template included
    assert saved["nodes"]["wait_usage"] == {**nodes["wait_usage"], "on_timeout": "offer_help"}
    assert saved["nodes"]["advanced_tips"] == nodes["advanced_tips"]
    assert not {"welcome", "support_offer"} & set(saved.get("layout") or {})  # no stale places


def test_a_refused_rename_says_why_and_changes_nothing(
    page: Any, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    open_template(page, "welcome_series", "refused_flow")
    page.get_by_test_id("node-welcome").click()
    box, problem = page.get_by_test_id("node-id"), page.get_by_test_id("node-id-error")

    rename_to(page, 'welcome "v2"')  # a quote used to throw inside the state update
    expect(problem).to_contain_text("is not a valid node id")
    expect(box).to_have_value("welcome")  # the box shows the id the node still has
    expect(page.get_by_test_id("message")).to_contain_text("welcome not renamed")
    expect(page.get_by_test_id("error-boundary")).to_have_count(0)
    expect(page.get_by_test_id("node-welcome")).to_be_visible()
    shot(page, request, tmp_path, "invalid-id")

    rename_to(page, "offer help")  # a space: the engine would refuse it
    expect(problem).to_contain_text('"offer help" is not a valid node id')
    expect(box).to_have_value("welcome")

    rename_to(page, "wait_usage")  # taken: it used to do nothing while the box showed the new id
    expect(problem).to_contain_text('there is already a node "wait_usage"')
    expect(box).to_have_value("welcome")
    expect(page.get_by_test_id("node-welcome")).to_be_visible()
    expect(page.get_by_test_id("node-wait_usage")).to_have_count(1)
    expect(page.get_by_test_id("unsaved")).to_have_count(0)  # nothing changed
    shot(page, request, tmp_path, "taken-id")

    rename_to(page, "hello-1")  # a valid one goes through, and the reason goes away
    expect(page.get_by_test_id("node-hello-1")).to_be_visible()
    expect(problem).to_have_count(0)


def test_without_the_token_open_says_why_and_keeps_the_canvas(
    bare_page: Any, worker: ApiWorker, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page = bare_page
    add_welcome(worker, "guarded")
    page.get_by_test_id("palette-action").press("Enter")  # something on the canvas that must stay
    expect(page.get_by_test_id("node-action_1")).to_be_visible()

    page.get_by_test_id("workflow-id").fill("guarded")
    page.get_by_test_id("open").click()  # 401: the API wants the token
    expect(page.get_by_test_id("message")).to_have_text(
        "could not open guarded: this API needs `Authorization: Bearer <token>`"
    )
    expect(page.get_by_test_id("node-action_1")).to_be_visible()
    expect(page.get_by_test_id("node-welcome")).to_have_count(0)
    shot(page, request, tmp_path, "401")

    page.get_by_placeholder("API token").fill(TOKEN)
    page.get_by_test_id("open").click()  # dirty canvas: the dialog handler confirms leaving it
    expect(page.get_by_test_id("message")).to_have_text("opened guarded v1")
    expect(page.get_by_test_id("node-welcome")).to_be_visible()
    expect(page.get_by_test_id("node-action_1")).to_have_count(0)


def test_only_a_404_opens_a_new_workflow(page: Any, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    open_template(page, "welcome_series", "not_yet_saved")
    message = page.get_by_test_id("message")
    loading = {"error": "catalog_loading", "message": "the workflow catalog is still loading"}
    url = "**/v1/workflows/not_yet_saved"

    page.route(url, lambda route: route.fulfill(status=503, json=loading))  # a worker still starting
    page.get_by_test_id("open").click()
    expect(message).to_have_text("could not open not_yet_saved: the workflow catalog is still loading")
    expect(page.get_by_test_id("node-welcome")).to_be_visible()
    shot(page, request, tmp_path, "503")
    page.unroute(url)

    page.route(url, lambda route: route.abort())  # no answer at all
    page.get_by_test_id("open").click()
    expect(message).to_have_text("could not open not_yet_saved: the worker did not answer")
    expect(page.get_by_test_id("node-welcome")).to_be_visible()
    page.unroute(url)

    page.get_by_test_id("open").click()  # the worker's own 404: a new, blank workflow
    expect(message).to_have_text("new workflow not_yet_saved")
    expect(page.get_by_test_id("node-welcome")).to_have_count(0)
