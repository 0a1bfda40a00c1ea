"""Edits the builder used to lose, and a worker's token, in a real headless Chromium against a real worker
that wants a bearer token: an edit made while "Restore unsaved changes?" is offered drops the offer and is
autosaved (also after the id box changed), so leaving keeps it as the draft it promises; edits made while a
publish runs stay on the canvas, unsaved, and are saved next; a validation request that fails (no token,
no answer) says the workflow was not validated and why, never "valid"; and the home view has the builder's
token box, which loads the list the worker refused without it. Each step's screenshot is saved
(SWITCHYARD_UI_SCREENSHOTS, else the test's tmp dir)."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.agents.api.fixtures import ApiWorker, example_definition
from tests.ui.fixtures import builder_tab, launch_chromium, open_tab, open_template, shot, token_worker
from tests.ui.test_builder import CHROMIUM

pytestmark = [
    pytest.mark.kafka,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium: apt-get install -y chromium"),
]

TOKEN = "ui-kept-edits-token"
DRAFT_KEY = "switchyard.draft."
NEEDS_TOKEN = "this API needs `Authorization: Bearer <token>`"
PLANT_DRAFT = "([key, record]) => localStorage.setItem(key, JSON.stringify(record))"
WRITTEN = "key => localStorage.getItem(key) !== null"


@pytest.fixture(scope="module")
def worker(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiWorker]:
    yield from token_worker(kafka_bootstrap, tmp_path_factory.mktemp("ui-kept-edits"), TOKEN)


@pytest.fixture(scope="module")
def browser(worker: ApiWorker) -> Iterator[Any]:
    yield from launch_chromium()


class Confirms:
    """The text of every dialog the page opens, each answered with OK."""

    def __init__(self, page: Any) -> None:
        self.seen: list[str] = []
        page.on("dialog", self.answer)

    def answer(self, dialog: Any) -> None:
        self.seen.append(dialog.message)
        dialog.accept()

    def take(self) -> list[str]:
        seen, self.seen = self.seen, []
        return seen


@pytest.fixture
def bare_page(browser: Any, worker: ApiWorker) -> Iterator[Any]:
    yield from builder_tab(browser, worker)


@pytest.fixture
def page(bare_page: Any) -> Any:
    """The builder with the API token typed into the toolbar, as its user does."""
    bare_page.get_by_placeholder("API token").fill(TOKEN)
    return bare_page


@pytest.fixture
def home_page(browser: Any, worker: ApiWorker) -> Iterator[Any]:
    """The home view (/ui/) before its user typed the API token."""
    yield from open_tab(browser, f"{worker.client.base}/ui/")


def add_welcome(worker: ApiWorker, workflow_id: str) -> dict[str, Any]:
    """welcome_series stored as the draft `workflow_id`; the stored definition is returned."""
    definition: dict[str, Any] = copy.deepcopy(example_definition("welcome_series"))
    for key in ("version", "status"):
        definition.pop(key, None)
    definition.update(id=workflow_id, name=workflow_id)
    status, _ = worker.client.call("POST", "/v1/workflows", definition)
    assert status == 201
    return stored(worker, workflow_id)


def stored(worker: ApiWorker, workflow_id: str) -> dict[str, Any]:
    status, answer = worker.client.call("GET", f"/v1/workflows/{workflow_id}")
    assert status == 200
    latest: dict[str, Any] = answer["definitions"][-1]
    return latest


def plant_old_draft(page: Any, worker: ApiWorker, workflow_id: str) -> None:
    """`workflow_id` stored on the worker, and an older local draft of it (only its name differs), as a
    session that left it unsaved a while ago wrote it."""
    old = {**add_welcome(worker, workflow_id), "name": "an old draft"}
    record = {"workflowId": workflow_id, "definition": old, "savedAt": int(time.time() * 1000) - 86_400_000}
    page.evaluate(PLANT_DRAFT, [DRAFT_KEY + workflow_id, record])


def local_draft(page: Any, workflow_id: str) -> Any:
    return page.evaluate("key => JSON.parse(localStorage.getItem(key))", DRAFT_KEY + workflow_id)


def open_by_id(page: Any, workflow_id: str, message: str) -> None:
    from playwright.sync_api import expect

    page.get_by_test_id("workflow-id").fill(workflow_id)
    page.get_by_test_id("open").click()
    expect(page.get_by_test_id("message")).to_have_text(message)


def test_an_edit_made_while_a_draft_is_offered_is_kept_when_leaving(
    page: Any, worker: ApiWorker, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    confirms = Confirms(page)
    plant_old_draft(page, worker, "offered_flow")
    open_by_id(page, "offered_flow", "opened offered_flow v1")
    offer = page.get_by_test_id("draft-offer")
    expect(offer).to_contain_text("Restore unsaved changes to offered_flow from")
    shot(page, request, tmp_path, "offered")

    # the offer is ignored and the canvas edited: the edit supersedes the offered draft
    page.get_by_test_id("palette-action").press("Enter")
    expect(page.get_by_test_id("node-action_1")).to_be_visible()
    expect(page.get_by_test_id("unsaved")).to_be_visible()
    expect(offer).to_have_count(0)
    shot(page, request, tmp_path, "edited")

    # leaving at once (before the autosave's delay) keeps the edit as the draft, as the prompt promises
    open_by_id(page, "elsewhere", "new workflow elsewhere")
    assert confirms.take() == [
        "Leave offered_flow with unsaved changes? They stay as a draft to restore when you open it again."
    ]
    draft = local_draft(page, "offered_flow")
    assert "action_1" in draft["definition"]["nodes"]
    assert draft["definition"]["name"] == "offered_flow"  # the edit, not the old draft

    # opened again, the draft offered is the one with the edit, and it restores
    open_by_id(page, "offered_flow", "opened offered_flow v1")
    expect(page.get_by_test_id("node-action_1")).to_have_count(0)
    expect(offer).to_be_visible()
    page.get_by_test_id("draft-restore").click()
    expect(page.get_by_test_id("node-action_1")).to_be_visible()
    expect(page.get_by_test_id("unsaved")).to_be_visible()
    assert confirms.take() == []


def test_an_edit_after_the_id_box_changed_under_an_offer_is_autosaved(page: Any, worker: ApiWorker) -> None:
    from playwright.sync_api import expect

    Confirms(page)
    plant_old_draft(page, worker, "renamed_offer")
    open_by_id(page, "renamed_offer", "opened renamed_offer v1")
    offer = page.get_by_test_id("draft-offer")
    expect(offer).to_be_visible()
    page.get_by_test_id("workflow-id").fill("renamed_copy")  # the offer is not for this id: it hides
    expect(offer).to_have_count(0)

    page.get_by_test_id("palette-action").press("Enter")
    expect(page.get_by_test_id("node-action_1")).to_be_visible()
    # autosaved under the id Save would write it to, about a second after the edit
    page.wait_for_function(WRITTEN, arg=DRAFT_KEY + "renamed_copy", timeout=10_000)
    assert "action_1" in local_draft(page, "renamed_copy")["definition"]["nodes"]
    assert local_draft(page, "renamed_offer")["definition"]["name"] == "an old draft"  # left as it was
    page.get_by_test_id("workflow-id").fill("renamed_offer")  # the edit dropped the offer: it stays away
    expect(offer).to_have_count(0)


def test_edits_made_while_publishing_stay_unsaved_and_save_next(
    page: Any, worker: ApiWorker, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    Confirms(page)
    open_template(page, "welcome_series", "slow_publish")
    expect(page.get_by_test_id("validation-summary")).to_have_text("valid")

    # the publish request is held (as a worker reading its catalog write back holds it) while the user edits
    held: list[Any] = []
    page.route("**/v1/workflows/slow_publish/publish", lambda route: held.append(route))
    page.get_by_test_id("version-note").fill("first version")
    page.get_by_test_id("publish").click()
    for _ in range(200):
        if held:
            break
        page.wait_for_timeout(50)
    assert len(held) == 1, "the publish request was not sent"
    page.get_by_test_id("palette-action").press("Enter")
    expect(page.get_by_test_id("node-action_1")).to_be_visible()
    held[0].continue_()

    expect(page.get_by_test_id("message")).to_have_text("published v1")
    expect(page.get_by_test_id("tab-history")).to_have_class("active")
    expect(page.get_by_test_id("node-action_1")).to_be_visible()  # it used to vanish here
    expect(page.get_by_test_id("unsaved")).to_be_visible()
    shot(page, request, tmp_path, "published-with-later-edit")
    published = stored(worker, "slow_publish")
    assert published["status"] == "published" and published["version"] == 1
    assert "action_1" not in published["nodes"]  # what was published is the snapshot taken at the click
    page.wait_for_function(WRITTEN, arg=DRAFT_KEY + "slow_publish", timeout=10_000)
    assert "action_1" in local_draft(page, "slow_publish")["definition"]["nodes"]

    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("message")).to_have_text("draft v2 saved")
    expect(page.get_by_test_id("unsaved")).to_have_count(0)
    draft = stored(worker, "slow_publish")
    assert draft["version"] == 2 and draft["status"] == "draft"
    assert draft["nodes"]["action_1"]["type"] == "action"
    assert {k: v for k, v in draft["nodes"].items() if k != "action_1"} == published["nodes"]


def test_a_failed_validation_is_never_shown_as_valid(
    bare_page: Any, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page = bare_page
    Confirms(page)
    summary, failure = page.get_by_test_id("validation-summary"), page.get_by_test_id("validation-failure")
    page.get_by_test_id("palette-action").press("Enter")  # validated without the token: 401
    expect(page.get_by_test_id("node-action_1")).to_be_visible()
    expect(summary).to_have_text("not validated")
    expect(failure).to_have_text(f"validation could not run: {NEEDS_TOKEN}")
    expect(page.get_by_test_id("issues-not-validated")).to_have_text(
        f"validation could not run: {NEEDS_TOKEN}"
    )
    expect(page.get_by_test_id("issues")).not_to_contain_text("no issues")
    shot(page, request, tmp_path, "401")

    page.get_by_placeholder("API token").fill(TOKEN)  # validated again with it, with no edit
    expect(failure).to_have_count(0)
    expect(summary).to_contain_text("error")  # an action alone: no trigger
    open_template(page, "welcome_series", "checked_flow")
    expect(summary).to_have_text("valid")

    validate = "**/v1/workflows/checked_flow/validate"
    page.route(validate, lambda route: route.abort())  # no answer at all
    page.get_by_test_id("palette-action").press("Enter")  # action_2: the ids go on counting
    expect(page.get_by_test_id("node-action_2")).to_be_visible()
    expect(summary).to_have_text("not validated")
    expect(failure).to_have_text("validation could not run: the worker did not answer")
    shot(page, request, tmp_path, "no-answer")
    page.unroute(validate)
    page.keyboard.press("Control+z")  # the palette item has the focus: the canvas's undo
    expect(page.get_by_test_id("node-action_2")).to_have_count(0)
    expect(summary).to_have_text("valid")
    expect(failure).to_have_count(0)


def test_home_has_the_token_box(
    home_page: Any, worker: ApiWorker, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page = home_page
    add_welcome(worker, "home_guarded")
    page.reload()  # listed after it was stored
    alert = page.get_by_test_id("home").get_by_role("alert")
    expect(alert).to_have_text(NEEDS_TOKEN)
    expect(page.locator("[data-testid^=home-row-]")).to_have_count(0)
    box = page.get_by_test_id("home").get_by_placeholder("API token")
    expect(box).to_be_visible()
    expect(box).to_have_accessible_name("API token")
    shot(page, request, tmp_path, "401")

    box.fill(TOKEN)  # the list loads again, with the token
    expect(page.get_by_test_id("home-row-home_guarded")).to_be_visible()
    expect(alert).to_have_count(0)
    shot(page, request, tmp_path, "listed")

    # the builder has the same token: it opens the workflow, and its own box shows it
    page.get_by_test_id("home-row-home_guarded").click()
    expect(page.get_by_test_id("message")).to_have_text("opened home_guarded v1")
    expect(page.get_by_placeholder("API token")).to_have_value(TOKEN)
    page.get_by_test_id("go-home").click()
    expect(page.get_by_test_id("home-row-home_guarded")).to_be_visible()
    expect(box).to_have_value(TOKEN)
    page.reload()  # kept for the next visit
    expect(page.get_by_test_id("home-row-home_guarded")).to_be_visible()
