"""Editing without a language (issue 20, item 3) in a real headless Chromium against a real worker and the
analytics writer: a trigger filter built from rows (no expression typed) with fields and event types
picked from what the stream carried, saved, validated and read back into rows; and the email preview of a
send node for contacts with and without `first_name`. Each step's screenshot goes to the test's tmp dir
(or SWITCHYARD_UI_SCREENSHOTS)."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agents.api.condition_rows import explain
from engine.conditions import compile_condition
from engine.templates import render, template_context
from tests.agents.api.fixtures import ApiWorker, example_definition
from tests.agents.fixtures import wait_processed
from tests.sinks.analytics.fixtures import wait_until
from tests.ui.fixtures import launch_chromium, open_tab, open_template, save_shot, when_still
from tests.ui.test_builder import CHROMIUM, post_events, stack

pytestmark = [
    pytest.mark.kafka,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium: apt-get install -y chromium"),
]
__all__ = ["stack"]
NASTY = 'it\'s "50%" off \\ now'


def get(base: str, path: str) -> Any:
    with urllib.request.urlopen(f"{base}{path}", timeout=30) as response:
        return json.loads(response.read())


def post(base: str, path: str, body: Any) -> Any:
    request = urllib.request.Request(f"{base}{path}", data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def seeded(stack: ApiWorker) -> ApiWorker:
    """Traffic the pickers learn from, and two stored contacts (one without a first name)."""
    base, now = stack.client.base, int(time.time() * 1000)

    def event(n: int, contact: str, kind: str, **properties: Any) -> dict[str, Any]:
        return {"event_id": f"ed-{n}", "contact_id": contact, "type": kind, "ts": now - 60_000 + n,
                "properties": properties}  # fmt: skip

    post_events(base, [
        event(1, "ann", "contact.added", first_name="Ann", plan="pro"),
        event(2, "bo", "contact.added", plan="free"),
        event(3, "ann", "cart.created", cart_id="k1", amount=80, coupon="X"),
        event(4, "bo", "cart.created", cart_id="k2", amount=20, note="gift"),
    ])  # fmt: skip
    wait_processed(stack.settings)
    wait_until(
        lambda: any(t["type"] == "cart.created" for t in get(base, "/v1/events/seen")["event_types"]), 60
    )
    return stack


@pytest.fixture(scope="module")
def browser(seeded: ApiWorker) -> Iterator[Any]:
    yield from launch_chromium()


@pytest.fixture
def page(browser: Any, seeded: ApiWorker) -> Iterator[Any]:
    yield from open_tab(browser, f"{seeded.client.base}/ui/#/builder", accept_dialogs=True)


def shooter(page: Any, tmp_path: Path) -> Any:
    def shot(name: str, element: Any = None) -> Path:
        return save_shot(element or page, tmp_path, name, min_bytes=5_000)

    return shot


def fill_row(page: Any, prefix: str, field: str, op: str, kind: str | None, value: str | None) -> None:
    page.get_by_test_id(f"{prefix}-field").fill(field)
    page.get_by_test_id(f"{prefix}-op").select_option(op)
    if kind is not None:
        page.get_by_test_id(f"{prefix}-type").select_option(kind)
    if value is not None:
        page.get_by_test_id(f"{prefix}-value").fill(value)


def test_condition_built_from_rows_is_saved_as_an_expression_that_validates(
    page: Any, seeded: ApiWorker, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    base, shot = seeded.client.base, shooter(page, tmp_path)
    open_template(page, "abandoned_cart", "rows_flow")
    page.get_by_test_id("node-__trigger__").click()
    # the pickers offer what the stream carried: the event type, its properties, the contact's attributes
    expect(page.locator("[data-testid=field-event-options] option[value='cart.created']")).to_have_count(1)
    expect(page.get_by_test_id("field-filter")).to_have_value("")

    page.get_by_test_id("cond-filter-add").click()
    for option in ("event.amount", "event.coupon", "event.note", "contact.plan", "contact.first_name"):
        expect(page.locator(f"datalist option[value='{option}']").first).to_be_attached()
    expect(page.locator("datalist option[value='event.first_name']")).to_have_count(0)  # not a cart property
    fill_row(page, "cond-filter-0", "event.amount", ">=", "number", "50")
    page.get_by_test_id("cond-filter-add").click()
    fill_row(page, "cond-filter-1", "contact.plan", "in", "text", "pro, team")
    page.get_by_test_id("cond-filter-add-group").click()  # (… or …)
    fill_row(page, "cond-filter-2-0", "event.coupon", "exists", None, None)
    page.get_by_test_id("cond-filter-2-add").click()
    fill_row(page, "cond-filter-2-1", "event.note", "contains", "text", NASTY)
    expect(page.get_by_test_id("cond-filter-row-error")).to_have_count(0)
    expected_rows = {"op": "and", "items": [
        {"field": "event.amount", "op": ">=", "type": "number", "value": "50"},
        {"field": "contact.plan", "op": "in", "type": "text", "value": ["pro", "team"]},
        {"op": "or", "items": [
            {"field": "event.coupon", "op": "exists", "type": "none", "value": None},
            {"field": "event.note", "op": "contains", "type": "text", "value": NASTY}]}]}  # fmt: skip
    expect(page.get_by_test_id("field-filter")).not_to_have_value("")
    written = page.get_by_test_id("field-filter").input_value()
    assert explain(written)["rows"] == expected_rows, written
    panel = page.get_by_test_id("config-panel")
    shot("1-rows", panel)
    shot("1-rows-page")

    # an incomplete row is flagged and does not touch the expression
    page.get_by_test_id("cond-filter-add").click()
    page.get_by_test_id("cond-filter-3-field").fill("contact.age")
    page.get_by_test_id("cond-filter-3-type").select_option("number")
    page.get_by_test_id("cond-filter-3-value").fill("old")
    expect(page.get_by_test_id("cond-filter-row-error")).to_contain_text("not a number")
    expect(page.get_by_test_id("field-filter")).to_have_value(written)
    page.get_by_test_id("cond-filter-3-remove").click()
    expect(page.get_by_test_id("cond-filter-row-error")).to_have_count(0)

    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("message")).to_contain_text("saved")
    saved = get(base, "/v1/workflows/rows_flow")["definitions"][-1]
    assert saved["trigger"]["filter"] == written
    compile_condition(saved["trigger"]["filter"])
    issues = post(base, "/v1/workflows/rows_flow/validate", {"definition": saved})["issues"]
    assert [i for i in issues if i["severity"] == "error"] == []

    # opened again, the saved expression is read back (on the server) into the same rows
    page.reload()
    page.get_by_test_id("workflow-id").fill("rows_flow")
    page.get_by_test_id("open").click()
    when_still(page.get_by_test_id("node-__trigger__")).click()
    expect(page.get_by_test_id("cond-filter-2-1-value")).to_have_value(NASTY)
    expect(page.get_by_test_id("cond-filter-1-value")).to_have_value("pro, team")
    expect(page.get_by_test_id("cond-filter-1-op")).to_have_value("in")
    shot("2-reopened")

    # an expression the rows cannot show stays as text, with the reason; a broken one says why
    page.get_by_test_id("field-filter").fill("now - contact.last_seen > 30d")
    expect(page.get_by_test_id("cond-filter-note")).to_contain_text("not representable as rows")
    expect(page.get_by_test_id("cond-filter-group")).to_have_count(0)
    page.get_by_test_id("field-filter").fill("event.amount >")
    expect(page.get_by_test_id("cond-filter-note")).to_contain_text("not valid yet")
    shot("3-raw")


def test_email_preview_with_and_without_first_name(page: Any, seeded: ApiWorker, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    shot = shooter(page, tmp_path)
    reminder = example_definition("abandoned_cart")["nodes"]["reminder"]["params"]

    def subject_for(attrs: dict[str, Any]) -> str:
        return render(reminder["subject"], template_context({"attrs": attrs}, None, None, 0, "x"))

    open_template(page, "abandoned_cart", "preview_flow")
    page.get_by_test_id("node-reminder").click()
    expect(page.get_by_test_id("template-picker")).to_have_value("cart_reminder")
    expect(page.get_by_test_id("template-subject")).to_have_value(reminder["subject"])

    page.get_by_test_id("preview-first-name").fill("Ada")
    page.get_by_test_id("preview-var-cart_id").fill("K-123")
    expect(page.get_by_test_id("preview-subject")).to_have_text(subject_for({"first_name": "Ada"}))
    body = page.frame_locator("[data-testid=preview-html]")
    expect(body.locator("a")).to_have_attribute("href", "https://shop.example.com/cart/K-123")
    expect(body.locator("p").first).to_have_text("Hi Ada,")  # the body sees the contact too
    expect(page.get_by_test_id("preview-text")).to_contain_text("K-123")
    shot("1-sample-with-first-name", page.get_by_test_id("config-panel"))

    page.get_by_test_id("preview-first-name").fill("")  # no first name: the template's fallback
    fallback = subject_for({})
    assert "Ada" not in fallback
    expect(page.get_by_test_id("preview-subject")).to_have_text(fallback)
    expect(body.locator("p").first).to_have_text("Hi there,")
    shot("2-sample-without-first-name", page.get_by_test_id("config-panel"))

    page.get_by_test_id("preview-stored").click()
    page.get_by_test_id("preview-contact-id").fill("ann")
    expect(page.get_by_test_id("preview-subject")).to_have_text(subject_for({"first_name": "Ann"}))
    expect(body.locator("p").first).to_have_text("Hi Ann,")
    page.get_by_test_id("preview-contact-id").fill("bo")
    expect(page.get_by_test_id("preview-subject")).to_have_text(fallback)
    expect(body.locator("p").first).to_have_text("Hi there,")
    page.get_by_test_id("preview-contact-id").fill("ghost")
    expect(page.get_by_test_id("preview-error")).to_contain_text("no stored contact 'ghost'")
    expect(page.get_by_test_id("preview")).to_have_count(0)
    shot("3-unknown-contact", page.get_by_test_id("config-panel"))

    # another template from the picker goes into the node's params
    page.get_by_test_id("preview-sample").click()
    page.get_by_test_id("template-picker").select_option("cart_discount")
    # the params rows follow the picker
    find = "els => els.findIndex(e => e.value === 'template')"
    row = page.eval_on_selector_all("[data-testid^=params-key-]", find)
    expect(page.get_by_test_id(f"params-value-{row}")).to_have_value("cart_discount")
    expect(page.get_by_test_id("preview-error")).to_have_count(0)
    expect(page.get_by_test_id("preview-html")).to_be_visible()


def test_branch_arms_open_as_rows_and_edit_as_rows(page: Any, seeded: ApiWorker, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    base, shot = seeded.client.base, shooter(page, tmp_path)
    open_template(page, "post_purchase", "branch_flow")
    page.get_by_test_id("node-five_stars").click()
    prefix = "cond-branches-0-when"
    expect(page.get_by_test_id(f"{prefix}-0-field")).to_have_value("event.rating")  # read by the server
    expect(page.get_by_test_id(f"{prefix}-0-op")).to_have_value("==")
    expect(page.get_by_test_id(f"{prefix}-0-type")).to_have_value("number")
    expect(page.get_by_test_id(f"{prefix}-0-value")).to_have_value("5")
    page.get_by_test_id(f"{prefix}-0-op").select_option(">=")
    page.get_by_test_id(f"{prefix}-0-value").fill("4")
    page.get_by_test_id("branch-add").click()  # a second arm, built from rows too
    page.get_by_test_id("cond-branches-1-when-add").click()
    fill_row(page, "cond-branches-1-when-0", "event.comment", "exists", None, None)
    page.get_by_test_id("branch-1-next").select_option("done")
    shot("1-branches", page.get_by_test_id("config-panel"))
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("message")).to_contain_text("saved")
    saved = get(base, "/v1/workflows/branch_flow")["definitions"][-1]
    arms = saved["nodes"]["five_stars"]["branches"]
    assert [arm["next"] for arm in arms] == ["referral", "done"]
    assert explain(arms[0]["when"])["rows"] == {
        "op": "and",
        "items": [{"field": "event.rating", "op": ">=", "type": "number", "value": "4"}],
    }
    assert explain(arms[1]["when"])["rows"] == {
        "op": "and",
        "items": [{"field": "event.comment", "op": "exists", "type": "none", "value": None}],
    }
    issues = post(base, "/v1/workflows/branch_flow/validate", {"definition": saved})["issues"]
    assert [i for i in issues if i["severity"] == "error"] == []
