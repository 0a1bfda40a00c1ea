"""The marketer's journey of issue 20 in a real headless Chromium, against a real worker on the real broker
and the analytics writer: from the home page, a blank workflow is built node by node into the abandoned-cart
journey (trigger `cart.created` filtered by rows, wait 2 h, reminder email, wait up to 24 h for `purchase`,
discount email, notify sales) with palette drops, handle connections, pickers and forms, and no condition
expression typed; it is simulated from the form (the path lights up on the canvas beside the timeline),
published with a note, and events sent through the HTTP API move the per-node counts on the canvas.

Each step's screenshot goes to the test's tmp dir (or SWITCHYARD_UI_SCREENSHOTS); with SWITCHYARD_UI_DOCS=1
three of them are also written to docs/img/journey-*.png for the README (a plain run leaves the tree
clean)."""

from __future__ import annotations

import os
import re
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from agents.api.condition_rows import explain
from tests.agents.api.fixtures import ApiWorker
from tests.agents.fixtures import wait_processed
from tests.sinks.analytics.fixtures import wait_until
from tests.ui.fixtures import launch_chromium, open_tab, shot
from tests.ui.test_builder import CHROMIUM, lambda_class, post_events, stack
from tests.ui.test_layout import intersect, settled_boxes
from tests.ui.test_marketer_testing import fill_event

pytestmark = [
    pytest.mark.kafka,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium: apt-get install -y chromium"),
]
__all__ = ["stack"]

DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
WORKFLOW = "cart_journey"
NOTE = "abandoned cart, built on the canvas"
HOUR = 3_600_000
MIN_AMOUNT = 20  # the trigger's filter, built as a row: event.amount >= 20
REMINDER_SUBJECT = "{{ contact.first_name | default('Hi') }}, you left something in your cart"
DISCOUNT_SUBJECT = "10% off what is in your cart"
SALES_MESSAGE = "Cart {{ run.vars.cart_id }} is still not bought after reminder and discount"
# the journey's nodes in the order they are dropped, with the id each is renamed to
DROPS = [("wait", "wait_2h"), ("action", "reminder"), ("wait_for", "wait_purchase"), ("goal", "purchased"),
         ("action", "discount"), ("action", "notify_sales")]  # fmt: skip
# (source, handle, target): every edge, drawn by dragging from a handle to a node
EDGES = [("__trigger__", "start", "wait_2h"), ("wait_2h", "next", "reminder"),
         ("reminder", "next", "wait_purchase"), ("wait_purchase", "on_event", "purchased"),
         ("wait_purchase", "on_timeout", "discount"), ("discount", "next", "notify_sales")]  # fmt: skip
CARDS = 1 + len(DROPS)  # the trigger's card and the nodes'
NO_PURCHASE_PATH = ["wait_2h", "reminder", "wait_purchase", "discount", "notify_sales"]
PURCHASE_PATH = ["wait_2h", "reminder", "wait_purchase", "purchased"]


@dataclass(frozen=True)
class Cart:
    """A contact's cart sent through the API, and where the journey takes it (timers due in the past fire at
    once: the worker's timers follow the wall clock, their due times the event time)."""

    contact: str
    hours_ago: float
    amount: int
    path: tuple[str, ...]  # the nodes it reaches
    waiting_at: str | None  # where its run is live, if it is


def carts_sent() -> list[Cart]:
    return [
        # 30 h ago: the 2 h wait and the 24 h wait are both over, the run goes on to sales and ends
        Cart("ann", 30, 80, tuple(NO_PURCHASE_PATH), None),
        # 3 h ago: reminded, waiting for the purchase (21 h left)
        Cart("bo", 3, 45, tuple(PURCHASE_PATH[:3]), "wait_purchase"),
        Cart("dee", 3, 25, tuple(PURCHASE_PATH[:3]), "wait_purchase"),
        # a minute ago: still in the 2 h wait
        Cart("cy", 1 / 60, 30, ("wait_2h",), "wait_2h"),
        # under the filter's amount: never enters
        Cart("eve", 3, MIN_AMOUNT - 15, (), None),
    ]


def cart_event(cart: Cart, now: int) -> dict[str, Any]:
    return {"event_id": f"journey-{cart.contact}", "contact_id": cart.contact, "type": "cart.created",
            "ts": now - int(cart.hours_ago * HOUR),
            "properties": {"cart_id": f"k-{cart.contact}", "amount": cart.amount}}  # fmt: skip


def expected_counts(carts: list[Cart]) -> tuple[Counter[str], Counter[str]]:
    """Per node: runs that reached it, and runs live there now."""
    reached = Counter(node for cart in carts for node in cart.path)
    live = Counter(cart.waiting_at for cart in carts if cart.waiting_at)
    return reached, live


@pytest.fixture(scope="module")
def seeded(stack: ApiWorker) -> ApiWorker:
    """Earlier traffic, before the workflow exists, that the event-type and field pickers offer."""
    base, now = stack.client.base, int(time.time() * 1000)
    post_events(base, [
        {"event_id": "seed-1", "contact_id": "seed", "type": "cart.created", "ts": now - 600_000,
         "properties": {"cart_id": "k-seed", "amount": 12}},
        {"event_id": "seed-2", "contact_id": "seed", "type": "purchase", "ts": now - 500_000,
         "properties": {"cart_id": "k-seed"}},
    ])  # fmt: skip
    wait_processed(stack.settings)

    def seen() -> set[str]:
        status, body = stack.client.call("GET", "/v1/events/seen")
        return {t["type"] for t in body["event_types"]} if status == 200 else set()

    wait_until(lambda: {"cart.created", "purchase"} <= seen(), 60)
    return stack


@pytest.fixture(scope="module")
def browser(seeded: ApiWorker) -> Iterator[Any]:
    yield from launch_chromium()


@pytest.fixture
def page(browser: Any, seeded: ApiWorker) -> Iterator[Any]:
    yield from open_tab(browser, f"{seeded.client.base}/ui/", accept_dialogs=True)


def for_docs(path: Path, name: str) -> None:
    """The README's copy of a step's screenshot, only when asked for (SWITCHYARD_UI_DOCS=1)."""
    if os.environ.get("SWITCHYARD_UI_DOCS") == "1":
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS_IMG / f"{name}.png")


def drop(page: Any, kind: str, x: float, y: float) -> None:
    """A palette item dropped at (x, y), fractions of the canvas's width and height."""
    box = page.get_by_test_id("canvas").bounding_box()
    at = {"x": x * box["width"], "y": y * box["height"]}
    page.drag_and_drop(f"[data-testid=palette-{kind}]", "[data-testid=canvas]", target_position=at)


def no_overlaps(page: Any) -> None:
    boxes = settled_boxes(page, CARDS)
    overlapping = [(a["id"], b["id"]) for i, a in enumerate(boxes) for b in boxes[i + 1 :] if intersect(a, b)]
    assert overlapping == [], f"cards dropped on each other: {overlapping}"


def rename(page: Any, new_id: str) -> None:
    from playwright.sync_api import expect

    box = page.get_by_test_id("node-id")
    box.fill(new_id)
    box.press("Tab")  # the rename happens when the box loses focus
    expect(page.get_by_test_id(f"node-{new_id}")).to_be_visible()
    expect(page.get_by_test_id("node-id")).to_have_value(new_id)


def connect(page: Any, source: str, handle: str, target: str) -> None:
    """Drag from the source node's labelled handle to the target node's input handle."""
    from playwright.sync_api import expect

    start = page.locator(f"[data-testid=node-{source}] .react-flow__handle.source[data-handleid='{handle}']")
    end = page.locator(f"[data-testid=node-{target}] .react-flow__handle.target")
    a, b = start.bounding_box(), end.bounding_box()
    assert a and b, f"no handle {source}.{handle} or {target}"
    page.mouse.move(a["x"] + a["width"] / 2, a["y"] + a["height"] / 2)
    page.mouse.down()
    page.mouse.move(b["x"] + b["width"] / 2, b["y"] + b["height"] / 2, steps=15)
    page.mouse.up()
    expect(page.get_by_test_id(f"rf__edge-{source}:{handle}")).to_have_count(1)


def set_params(page: Any, params: dict[str, str]) -> None:
    """An action's params as rows: the first row is the palette's default, overwritten; the rest added."""
    for i, (key, value) in enumerate(params.items()):
        if i:
            page.get_by_test_id("params-add").click()
        page.get_by_test_id(f"params-key-{i}").fill(key)
        page.get_by_test_id(f"params-value-{i}").fill(value)


def pick_event(page: Any, field: str, event_type: str) -> None:
    """An event type from the picker: offered because the stream carried it, then chosen."""
    from playwright.sync_api import expect

    expect(page.locator(f"[data-testid={field}-options] option[value='{event_type}']")).to_have_count(1)
    page.get_by_test_id(field).fill(event_type)


def build_journey(page: Any) -> None:
    from playwright.sync_api import expect

    # the trigger: cart.created from the picker, the filter as a row (no expression typed)
    drop(page, "trigger", 0.1, 0.1)
    pick_event(page, "field-event", "cart.created")
    page.get_by_test_id("cond-filter-add").click()
    expect(page.locator("datalist option[value='event.amount']").first).to_be_attached()
    page.get_by_test_id("cond-filter-0-field").fill("event.amount")
    page.get_by_test_id("cond-filter-0-op").select_option(">=")
    page.get_by_test_id("cond-filter-0-type").select_option("number")
    page.get_by_test_id("cond-filter-0-value").fill(str(MIN_AMOUNT))
    expect(page.get_by_test_id("cond-filter-row-error")).to_have_count(0)
    expect(page.get_by_test_id("field-filter")).not_to_have_value("")

    # laid out alone, the trigger is centred at the top zoom: the other nodes go left and right of it
    page.get_by_test_id("tidy").click()
    expect(page.locator(".react-flow__viewport")).to_have_attribute("style", re.compile(r"scale\(1\.2\)"))
    settled_boxes(page, 1)

    # the nodes, each dropped from the palette, renamed and configured from its form
    spots = [(0.02, 0.04), (0.02, 0.3), (0.02, 0.6), (0.73, 0.04), (0.73, 0.3), (0.73, 0.6)]
    for (kind, new_id), (x, y) in zip(DROPS, spots, strict=True):
        drop(page, kind, x, y)
        expect(page.get_by_test_id("node-id")).to_have_value(re.compile(rf"^{kind}_\d+$"))
        rename(page, new_id)
        if new_id == "wait_2h":
            page.get_by_test_id("field-duration").fill("2h")
        elif new_id in ("reminder", "discount"):
            expect(page.get_by_test_id("field-action")).to_have_value("send_email")
            page.get_by_test_id("template-picker").select_option(f"cart_{new_id}")
            page.get_by_test_id("template-subject").fill(
                REMINDER_SUBJECT if new_id == "reminder" else DISCOUNT_SUBJECT
            )
            page.get_by_test_id("params-add").click()
            page.get_by_test_id("params-key-2").fill("cart_id")
            page.get_by_test_id("params-value-2").fill("{{ run.vars.cart_id }}")
        elif new_id == "wait_purchase":
            pick_event(page, "field-event", "purchase")
            page.get_by_test_id("field-key").fill("cart_id")
            page.get_by_test_id("field-timeout").fill("24h")
        elif new_id == "purchased":
            pick_event(page, "field-event", "purchase")
            page.get_by_test_id("field-key").fill("cart_id")
        elif new_id == "notify_sales":
            page.get_by_test_id("field-action").select_option("notify")
            set_params(page, {"team": "sales", "reason": "stale", "message": SALES_MESSAGE,
                              "cart_id": "{{ run.vars.cart_id }}"})  # fmt: skip

    no_overlaps(page)
    # nothing connected yet: the overlay says so, and nothing can be published
    expect(page.get_by_test_id("validation-summary")).to_contain_text("error")
    expect(page.get_by_test_id("publish")).to_be_disabled()
    # the edges, from the labelled handles (the wait_for's "event" and "timeout" among them)
    for source, handle, target in EDGES:
        connect(page, source, handle, target)

    # the settings: every cart gets its own run
    page.get_by_test_id("open-settings").click()
    page.get_by_test_id("setting-name").fill("Cart journey")
    page.get_by_test_id("setting-reentry").select_option("always")
    page.get_by_test_id("setting-run_key").fill("cart_id")
    page.get_by_test_id("tidy").click()
    settled_boxes(page, CARDS)


def path_shown(page: Any, path: list[str]) -> None:
    """The path's nodes and the edges between them are highlighted, and nothing else is."""
    from playwright.sync_api import expect

    on_path = lambda_class("on-path")
    for _, node in DROPS:
        if node in path:
            expect(page.get_by_test_id(f"node-{node}")).to_have_class(on_path)
        else:
            expect(page.get_by_test_id(f"node-{node}")).not_to_have_class(on_path)
    for source, handle, target in EDGES:
        edge = page.get_by_test_id(f"rf__edge-{source}:{handle}")
        if source in path and target in path:
            expect(edge).to_have_class(on_path)
        else:
            expect(edge).not_to_have_class(on_path)


def counts_show(page: Any, reached: Counter[str], live: Counter[str], timeout: int = 30_000) -> None:
    """Each node's card counts the runs that entered it and those waiting there now; an action's, what it
    sent."""
    from playwright.sync_api import expect

    for kind, node in DROPS:
        sent = rf".*\bsent {reached[node]}\b" if kind == "action" and reached[node] else ""
        text = re.compile(rf"entered {reached[node]}\b.*\bwaiting {live[node]}\b{sent}")
        expect(page.get_by_test_id(f"count-{node}")).to_contain_text(text, timeout=timeout)


def fit_view(page: Any) -> None:
    """The canvas's own fit-to-view button, so a screenshot shows the whole journey."""
    page.locator(".react-flow__controls-fitview").click()
    settled_boxes(page, CARDS)


def test_build_simulate_publish_and_watch_the_abandoned_cart_journey(
    page: Any, seeded: ApiWorker, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    client = seeded.client

    # 1. from the home page, a blank workflow
    expect(page.get_by_test_id("home")).to_be_visible()
    page.get_by_test_id("new-blank").click()
    expect(page.get_by_test_id("home")).to_have_count(0)
    expect(page.locator(".sy-node")).to_have_count(0)
    page.get_by_test_id("workflow-id").fill(WORKFLOW)

    # 2. built node by node
    build_journey(page)
    expect(page.get_by_test_id("validation-summary")).to_have_text("valid")
    expect(page.get_by_test_id("node-wait_2h")).to_contain_text("Wait 2 hours")
    expect(page.get_by_test_id("node-reminder")).to_contain_text(
        "Send email · Hi, you left something in your cart"
    )
    expect(page.get_by_test_id("node-wait_purchase")).to_contain_text("Wait up to 24 h for purchase")
    expect(page.get_by_test_id("node-notify_sales")).to_contain_text("Notify · sales")
    expect(page.get_by_test_id("node-__trigger__")).to_contain_text("When cart.created")
    for_docs(shot(page, request, tmp_path, "1-build"), "journey-1-build")

    # 3. simulated from the form, never saved: no purchase, so reminder, discount and sales
    page.get_by_test_id("tab-simulate").click()
    expect(page.get_by_test_id("sim-event-type-0")).to_have_value("cart.created")
    page.get_by_test_id("sim-contact-id").fill("sam")
    fill_event(page, 0, "cart.created", "+0", {"cart_id": "k1", "amount": "80"})
    page.get_by_test_id("run-simulate").click()
    entries = page.get_by_test_id("timeline-entry")
    expect(entries.filter(has_text="reminder send_email")).to_contain_text("+2h")
    expect(entries.filter(has_text="wait_purchase waits for purchase")).to_have_count(1)
    expect(entries.filter(has_text="discount send_email")).to_contain_text("+1d2h")
    expect(entries.filter(has_text="notify_sales notify")).to_contain_text("+1d2h")
    path_shown(page, NO_PURCHASE_PATH)
    fit_view(page)
    for_docs(shot(page, request, tmp_path, "2-simulate"), "journey-2-simulate")

    # ... a purchase 3 h in: the goal, no discount
    page.get_by_test_id("sim-add-event").click()
    fill_event(page, 1, "purchase", "+3h", {"cart_id": "k1"})
    page.get_by_test_id("run-simulate").click()
    expect(entries.filter(has_text="discount")).to_have_count(0)
    expect(entries.filter(has_text="event purchase")).to_contain_text("+3h")
    path_shown(page, PURCHASE_PATH)
    shot(page, request, tmp_path, "2b-simulate-purchase")

    # ... a cart under the filter's amount never enters: nothing lights up
    page.get_by_test_id("sim-event-remove-1").click()
    page.get_by_test_id("sim-prop-0-value-1").fill(str(MIN_AMOUNT - 1))
    page.get_by_test_id("run-simulate").click()
    expect(page.get_by_test_id("trial-result")).to_contain_text("0 actions")
    expect(page.locator(".sy-node.on-path")).to_have_count(0)
    expect(entries.filter(has_text="entered")).to_have_count(0)
    shot(page, request, tmp_path, "2c-simulate-filtered")

    # 4. published with a note; what is stored is the journey, the filter an expression of the row
    page.get_by_test_id("version-note").fill(NOTE)
    page.get_by_test_id("publish").click()
    expect(page.get_by_test_id("message")).to_have_text("published v1")
    expect(page.get_by_test_id("history")).to_contain_text(NOTE)
    status, stored = client.call("GET", f"/v1/workflows/{WORKFLOW}")
    assert status == 200 and stored["status"] == "published"
    assert [(v["version"], v["note"]) for v in stored["versions"]] == [(1, NOTE)]
    published = stored["definitions"][-1]
    nodes = published["nodes"]
    assert {n: node["type"] for n, node in nodes.items()} == {
        "wait_2h": "wait", "reminder": "action", "wait_purchase": "wait_for", "purchased": "goal",
        "discount": "action", "notify_sales": "action",
    }  # fmt: skip
    assert published["trigger"]["event"] == "cart.created" and published["start"] == "wait_2h"
    row = {"field": "event.amount", "op": ">=", "type": "number", "value": str(MIN_AMOUNT)}
    assert explain(published["trigger"]["filter"])["rows"] == {"op": "and", "items": [row]}
    assert nodes["wait_2h"]["duration"] == "2h" and nodes["wait_2h"]["next"] == "reminder"
    assert nodes["wait_purchase"] == {"type": "wait_for", "event": "purchase", "key": "cart_id",
                                      "timeout": "24h", "on_event": "purchased",
                                      "on_timeout": "discount"}  # fmt: skip
    assert nodes["reminder"]["params"] == {"template": "cart_reminder", "subject": REMINDER_SUBJECT,
                                           "cart_id": "{{ run.vars.cart_id }}"}  # fmt: skip
    assert (
        nodes["discount"]["next"] == "notify_sales"
        and nodes["discount"]["params"]["template"] == "cart_discount"
    )
    assert nodes["notify_sales"]["action"] == "notify" and nodes["notify_sales"]["params"]["team"] == "sales"
    assert "next" not in nodes["notify_sales"]
    assert published["settings"] == {"reentry": "always", "run_key": "cart_id"}
    assert set(published["layout"]) == {"__trigger__", *nodes}  # renamed nodes leave no stale place behind
    status, checked = client.call("POST", f"/v1/workflows/{WORKFLOW}/validate")
    assert status == 200 and checked["valid"], checked
    counts_show(page, Counter(), Counter())  # the counts start at zero
    shot(page, request, tmp_path, "3-published")

    # 5. carts through the API: the counts on the canvas move to what the events make
    now = int(time.time() * 1000)
    carts = carts_sent()
    post_events(client.base, [cart_event(cart, now) for cart in carts])
    reached, live = expected_counts(carts)
    counts_show(page, reached, live, timeout=120_000)
    entered = sum(1 for cart in carts if cart.path)
    expect(page.get_by_test_id("funnel")).to_contain_text(f"entered {entered} · goals 0")
    shot(page, request, tmp_path, "4-counts-carts")

    # ... dee buys the cart: the run leaves the wait for the goal
    buys = {"event_id": "journey-dee-buys", "contact_id": "dee", "type": "purchase",
            "ts": int(time.time() * 1000), "properties": {"cart_id": "k-dee"}}  # fmt: skip
    post_events(client.base, [buys])
    bought = [replace(c, path=(*c.path, "purchased"), waiting_at=None) if c.contact == "dee" else c
              for c in carts]  # fmt: skip
    reached, live = expected_counts(bought)
    counts_show(page, reached, live, timeout=120_000)
    expect(page.get_by_test_id("funnel")).to_contain_text("goals 1")
    fit_view(page)
    for_docs(shot(page, request, tmp_path, "5-counts"), "journey-3-counts")

    # 6. home lists it with the same figures
    page.get_by_test_id("go-home").click()
    expect(page.get_by_test_id(f"home-status-{WORKFLOW}")).to_have_text("published")
    expect(page.get_by_test_id(f"home-entered-{WORKFLOW}")).to_have_text(str(entered))
    expect(page.get_by_test_id(f"home-active-{WORKFLOW}")).to_have_text(str(sum(live.values())))
    expect(page.get_by_test_id(f"home-converted-{WORKFLOW}")).to_have_text("1")
    shot(page, request, tmp_path, "6-home")
