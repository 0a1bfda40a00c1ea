"""Copy and paste, autosaved drafts, the unsaved-changes warnings and the accessibility basics of the builder
(issue 20, items 3 and 7) in a real headless Chromium against a real worker: pasted nodes are saved under
fresh ids with their params, a paste inside a text field pastes no nodes, a draft survives a reload and is
offered only for its own workflow, leaving with unsaved changes asks first, and a node is added and connected
with the keyboard alone; focus rings, text contrast (WCAG 2 formula below) and accessible names are measured
in the page. Each step's screenshot goes to SWITCHYARD_UI_SCREENSHOTS, else the test's tmp dir."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.agents.api.fixtures import ApiWorker
from tests.ui.fixtures import launch_chromium, open_tab, open_template, shot
from tests.ui.test_builder import CHROMIUM, lambda_class
from tests.ui.test_layout import intersect

pytestmark = [
    pytest.mark.kafka,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium: apt-get install -y chromium"),
]
DRAFT_KEY = "switchyard.draft."


@pytest.fixture(scope="module")
def browser(api_worker: ApiWorker) -> Iterator[Any]:
    yield from launch_chromium()


class Dialogs:
    """Every dialog the page opens (confirm, beforeunload), recorded by type and answered with OK (or with
    Cancel while ``accept`` is False)."""

    def __init__(self, page: Any) -> None:
        self.seen: list[str] = []
        self.accept = True
        page.on("dialog", self.answer)

    def answer(self, dialog: Any) -> None:
        self.seen.append(dialog.type)
        if self.accept:
            dialog.accept()
        else:
            dialog.dismiss()

    def settle(self, page: Any, count: int) -> None:
        """Give a dialog raised by an event handler (after the navigation returned) up to 5 s to arrive."""
        for _ in range(100):
            if len(self.seen) >= count:
                return
            page.wait_for_timeout(50)

    def take(self) -> list[str]:
        seen, self.seen = self.seen, []
        return seen


@pytest.fixture
def page(browser: Any, api_worker: ApiWorker) -> Iterator[Any]:
    yield from open_tab(browser, f"{api_worker.client.base}/ui/#/builder")


def latest(base: str, workflow: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{base}/v1/workflows/{workflow}", timeout=30) as response:
        definition: dict[str, Any] = json.loads(response.read())["definitions"][-1]
        return definition


def open_by_id(page: Any, workflow: str) -> None:
    page.get_by_test_id("workflow-id").fill(workflow)
    page.get_by_test_id("open").click()


def flow_node(page: Any, node_id: str) -> Any:
    return page.locator(f".react-flow__node[data-id='{node_id}']")


def stored_draft(page: Any, workflow: str) -> Any:
    return page.evaluate("key => JSON.parse(localStorage.getItem(key))", DRAFT_KEY + workflow)


def test_copy_paste_then_save_keeps_params_under_new_ids(
    page: Any, api_worker: ApiWorker, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    Dialogs(page)
    open_template(page, "abandoned_cart", "copy_flow")
    page.get_by_test_id("node-wait_2h").click()
    page.get_by_test_id("node-reminder").click(modifiers=["Control"])  # both selected
    expect(flow_node(page, "wait_2h")).to_have_class(lambda_class("selected"))
    expect(flow_node(page, "reminder")).to_have_class(lambda_class("selected"))
    page.keyboard.press("Control+c")
    expect(page.get_by_test_id("message")).to_have_text("copied wait_2h, reminder")
    page.keyboard.press("Control+v")
    for pasted in ("wait_2h_copy", "reminder_copy"):
        expect(page.get_by_test_id(f"node-{pasted}")).to_be_visible()
        expect(flow_node(page, pasted)).to_have_class(lambda_class("selected"))
    expect(flow_node(page, "reminder")).not_to_have_class(lambda_class("selected"))
    # the toolbar's Paste does the same: the next free ids, further offset
    page.get_by_test_id("paste-nodes").click()
    expect(page.get_by_test_id("node-reminder_copy_2")).to_be_visible()
    expect(page.get_by_test_id("node-wait_2h_copy_2")).to_be_visible()
    shot(page, request, tmp_path, "pasted-twice")
    page.get_by_test_id("canvas").click(position={"x": 30, "y": 30})
    page.keyboard.press("Control+z")  # one paste is one undo step: both of its nodes go
    expect(page.get_by_test_id("node-reminder_copy_2")).to_have_count(0)
    expect(page.get_by_test_id("node-wait_2h_copy_2")).to_have_count(0)
    expect(page.get_by_test_id("node-reminder_copy")).to_be_visible()

    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("message")).to_contain_text("saved")
    saved = latest(api_worker.client.base, "copy_flow")
    nodes, layout = saved["nodes"], saved["layout"]
    assert "reminder_copy_2" not in nodes
    # the copies keep type and params; the edge between the copied nodes points at the copy, the edge that
    # left the selection (reminder -> wait_purchase) is not copied
    assert nodes["wait_2h_copy"] == {**nodes["wait_2h"], "next": "reminder_copy"}
    assert nodes["reminder"]["next"] == "wait_purchase"
    assert nodes["reminder_copy"] == {k: v for k, v in nodes["reminder"].items() if k != "next"}
    for original in ("wait_2h", "reminder"):
        moved = layout[f"{original}_copy"]
        offset = (moved["x"] - layout[original]["x"], moved["y"] - layout[original]["y"])
        assert offset == pytest.approx((40, 40))
    assert all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*", node_id) for node_id in nodes)


def test_paste_inside_a_text_field_pastes_no_nodes(page: Any) -> None:
    from playwright.sync_api import expect

    Dialogs(page)
    open_template(page, "abandoned_cart", "no_paste_flow")
    page.get_by_test_id("node-reminder").click()
    page.keyboard.press("Control+c")
    expect(page.get_by_test_id("message")).to_have_text("copied reminder")
    cards = page.locator(".react-flow__node")
    before = cards.count()
    note = page.get_by_test_id("version-note")
    note.fill("first try")
    note.press("Control+a")
    note.press("Control+c")  # the browser's copy of the text: the node clip stays
    expect(page.get_by_test_id("message")).to_have_text("copied reminder")
    note.press("Control+v")
    page.get_by_test_id("workflow-id").press("Control+v")
    expect(page.get_by_test_id("node-reminder_copy")).to_have_count(0)
    assert cards.count() == before
    expect(page.get_by_test_id("unsaved")).to_have_count(0)  # nothing changed the definition
    page.get_by_test_id("node-wait_2h").click()
    page.keyboard.press("Control+v")  # outside the fields it pastes
    expect(page.get_by_test_id("node-reminder_copy")).to_be_visible()


def test_autosaved_draft_is_restored_discarded_and_never_offered_elsewhere(
    page: Any, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    dialogs = Dialogs(page)
    open_by_id(page, "draft_flow")
    expect(page.get_by_test_id("message")).to_have_text("new workflow draft_flow")
    page.drag_and_drop(
        "[data-testid=palette-action]", "[data-testid=canvas]", target_position={"x": 300, "y": 200}
    )
    expect(page.get_by_test_id("node-action_1")).to_be_visible()
    expect(page.get_by_test_id("unsaved")).to_be_visible()
    page.wait_for_function("key => localStorage.getItem(key) !== null", arg=DRAFT_KEY + "draft_flow")
    assert list(stored_draft(page, "draft_flow")["definition"]["nodes"]) == ["action_1"]
    assert dialogs.take() == []

    page.reload()  # the unsaved edit arms the browser's leave prompt
    assert dialogs.take() == ["beforeunload"]
    expect(page.get_by_test_id("workflow-id")).to_have_value("my_workflow")
    expect(page.get_by_test_id("palette")).to_be_visible()
    expect(page.get_by_test_id("draft-offer")).to_have_count(0)  # not offered to the default workflow
    open_by_id(page, "other_flow")
    expect(page.get_by_test_id("message")).to_have_text("new workflow other_flow")
    expect(page.get_by_test_id("draft-offer")).to_have_count(0)  # nor to another one
    assert dialogs.take() == []  # nothing unsaved: no confirmation

    open_by_id(page, "draft_flow")
    offer = page.get_by_test_id("draft-offer")
    expect(offer).to_contain_text("Restore unsaved changes to draft_flow from")
    page.get_by_test_id("workflow-id").fill("draft_flow_2")  # the id box changes: the offer is not for it
    expect(offer).to_have_count(0)
    page.get_by_test_id("workflow-id").fill("draft_flow")
    expect(offer).to_be_visible()
    shot(page, request, tmp_path, "offered")
    page.get_by_test_id("draft-restore").click()
    expect(page.get_by_test_id("node-action_1")).to_be_visible()
    expect(offer).to_have_count(0)
    expect(page.get_by_test_id("unsaved")).to_be_visible()

    # leaving with the restored, unsaved edit asks first; Cancel would stay, OK leaves (the draft stays)
    open_by_id(page, "other_flow")
    assert dialogs.take() == ["confirm"]
    expect(page.get_by_test_id("node-action_1")).to_have_count(0)
    assert stored_draft(page, "draft_flow") is not None
    assert stored_draft(page, "other_flow") is None

    open_by_id(page, "draft_flow")
    page.get_by_test_id("draft-discard").click()
    expect(offer).to_have_count(0)
    expect(page.get_by_test_id("node-action_1")).to_have_count(0)
    assert stored_draft(page, "draft_flow") is None
    page.reload()
    assert dialogs.take() == []  # nothing unsaved after the discard
    open_by_id(page, "draft_flow")
    expect(page.get_by_test_id("message")).to_have_text("new workflow draft_flow")
    expect(offer).to_have_count(0)


def test_leave_warnings_are_armed_only_while_dirty(page: Any, api_worker: ApiWorker) -> None:
    from playwright.sync_api import expect

    dialogs = Dialogs(page)
    open_template(page, "abandoned_cart", "leave_flow")
    page.get_by_test_id("node-reminder").click()  # a user gesture, but no change
    page.get_by_test_id("go-home").click()
    expect(page.get_by_test_id("home")).to_be_visible()
    assert dialogs.take() == []
    page.go_back()
    page.reload()
    assert dialogs.take() == []

    open_template(page, "abandoned_cart", "leave_flow")
    page.get_by_test_id("node-reminder").click()
    page.keyboard.press("Control+c")
    page.keyboard.press("Control+v")
    expect(page.get_by_test_id("node-reminder_copy")).to_be_visible()
    dialogs.accept = False  # Cancel: the builder stays, with the edit
    page.get_by_test_id("go-home").click()
    assert dialogs.take() == ["confirm"]
    expect(page.get_by_test_id("node-reminder_copy")).to_be_visible()
    dialogs.accept = True
    page.get_by_test_id("go-home").click()
    assert dialogs.take() == ["confirm"]
    expect(page.get_by_test_id("home")).to_be_visible()
    page.go_back()  # into the builder: nothing to ask, the edit is still there
    expect(page.get_by_test_id("node-reminder_copy")).to_be_visible()
    assert dialogs.take() == []
    dialogs.accept = False
    page.go_forward()  # the browser's way out asks too; Cancel keeps the builder
    dialogs.settle(page, 1)
    assert dialogs.take() == ["confirm"]
    expect(page.get_by_test_id("node-reminder_copy")).to_be_visible()
    expect(page).to_have_url(re.compile(r"#/builder$"))
    dialogs.accept = True
    page.get_by_test_id("template").select_option("welcome_series")  # another workflow: asks first
    assert dialogs.take() == ["confirm"]
    expect(page.get_by_test_id("node-reminder_copy")).to_have_count(0)

    open_template(page, "abandoned_cart", "leave_flow")
    page.get_by_test_id("node-reminder").click()
    page.keyboard.press("Control+c")
    page.keyboard.press("Control+v")
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("message")).to_contain_text("saved")
    expect(page.get_by_test_id("unsaved")).to_have_count(0)
    assert "reminder_copy" in latest(api_worker.client.base, "leave_flow")["nodes"]
    assert stored_draft(page, "leave_flow") is None  # a save clears the draft
    page.reload()
    assert dialogs.take() == []  # saved: no prompt


def active_testid(page: Any) -> str:
    value: str = page.evaluate("() => document.activeElement?.dataset?.testid || ''")
    return value


def tab_to(page: Any, testid: str, limit: int = 120) -> None:
    for _ in range(limit):
        if active_testid(page) == testid:
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{testid} not reached with {limit} Tabs (at {active_testid(page)!r})")


def choose_with_arrows(page: Any, testid: str, value: str) -> None:
    """On a focused <select>, ArrowDown until `value` is chosen (the keyboard's way, no mouse)."""
    assert active_testid(page) == testid
    for _ in range(40):
        if page.get_by_test_id(testid).input_value() == value:
            return
        page.keyboard.press("ArrowDown")
    raise AssertionError(f"{value} not reached in {testid}")


def test_keyboard_only_add_connect_and_save(
    page: Any, api_worker: ApiWorker, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    Dialogs(page)
    open_template(page, "abandoned_cart", "kb_flow")
    page.get_by_test_id("workflow-id").focus()
    tab_to(page, "palette-wait_for")
    page.keyboard.press("Enter")
    added = page.get_by_test_id("node-wait_for_1")
    expect(added).to_be_visible()
    expect(flow_node(page, "wait_for_1")).to_have_class(lambda_class("selected"))
    expect(page.get_by_test_id("config-panel")).to_contain_text("wait_for")
    mine = added.bounding_box()
    for other in page.locator(".sy-node").all():
        if other.get_attribute("data-testid") != "node-wait_for_1":
            assert not intersect(mine, other.bounding_box()), other.get_attribute("data-testid")

    # its timeout output (wait_for has two) to `discount`, all from the keyboard
    tab_to(page, "connect-output")
    choose_with_arrows(page, "connect-output", "on_timeout")
    page.keyboard.press("Tab")
    choose_with_arrows(page, "connect-target", "discount")
    page.keyboard.press("Tab")
    assert active_testid(page) == "connect-apply"
    page.keyboard.press("Enter")
    expect(page.locator(".react-flow__edge[data-id='wait_for_1:on_timeout']")).to_have_count(1)
    expect(page.locator(".react-flow__edge[data-id='wait_for_1:on_event']")).to_have_count(0)

    # Space works as Enter: a wait goes below the selected wait_for, and its single output needs no choice
    page.get_by_test_id("workflow-id").focus()
    tab_to(page, "palette-wait")
    page.keyboard.press(" ")
    expect(page.get_by_test_id("config-panel")).to_contain_text("duration")
    wait_id = page.get_by_test_id("node-id").input_value()  # the new node is selected: the panel shows it
    assert wait_id.startswith("wait_") and wait_id != "wait_2h"
    above = added.bounding_box()  # measured again: focusing nodes on the way may have panned the canvas
    assert page.get_by_test_id(f"node-{wait_id}").bounding_box()["y"] > above["y"] + above["height"]
    tab_to(page, "connect-target")
    expect(page.get_by_test_id("connect-output")).to_have_count(0)
    choose_with_arrows(page, "connect-target", "notify_sales")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator(f".react-flow__edge[data-id='{wait_id}:next']")).to_have_count(1)
    shot(page, request, tmp_path, "connected")

    tab_to(page, "save", limit=200)
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("message")).to_contain_text("saved")
    nodes = latest(api_worker.client.base, "kb_flow")["nodes"]
    assert nodes["wait_for_1"]["on_timeout"] == "discount"
    assert "on_event" not in nodes["wait_for_1"]
    assert nodes[wait_id]["next"] == "notify_sales"


# WCAG 2: relative luminance of an sRGB colour and the contrast ratio of two
def luminance(rgb: tuple[float, float, float]) -> float:
    def channel(value: float) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def rgb(css: str) -> tuple[float, float, float]:
    parts = [float(p) for p in re.findall(r"[\d.]+", css)[:3]]
    return parts[0], parts[1], parts[2]


# an element's text colour and the first opaque background behind it (the page's white at the root); a
# focus ring is drawn outside its element, so its backdrop starts at the parent
COLOURS = """(el, outside = false) => {
  let node = outside ? el.parentElement : el, bg = null;
  while (node && node.nodeType === 1) {
    const c = getComputedStyle(node).backgroundColor;
    if (c && c !== 'transparent' && !/rgba\\(.*,\\s*0\\)$/.test(c)) { bg = c; break; }
    node = node.parentElement;
  }
  return {fg: getComputedStyle(el).color, bg: bg || 'rgb(255, 255, 255)'};
}"""

KIND = """el => el.classList.contains('react-flow__node') ? 'node'
  : el.classList.contains('palette-item') ? 'palette' : el.tagName.toLowerCase()"""

FOCUS_RING = """el => {
  const s = getComputedStyle(el);
  return {matches: el.matches(':focus-visible'), style: s.outlineStyle, width: parseFloat(s.outlineWidth),
          colour: s.outlineColor};
}"""


def test_focus_rings_contrast_and_accessible_names(page: Any, request: pytest.FixtureRequest,
                                                   tmp_path: Path) -> None:  # fmt: skip
    from playwright.sync_api import expect

    Dialogs(page)
    open_template(page, "abandoned_cart", "a11y_flow")
    page.get_by_test_id("node-reminder").click()
    expect(page.get_by_test_id("config-panel")).to_be_visible()

    # focus rings, reached by Tab: a palette item, a canvas node, a toolbar button, a field
    page.get_by_test_id("workflow-id").focus()
    focused: dict[str, Any] = {}
    for _ in range(40):
        page.keyboard.press("Tab")
        handle = page.evaluate_handle("() => document.activeElement")
        kind = handle.evaluate(KIND)
        backdrop = handle.evaluate(f"el => ({COLOURS})(el, true)")["bg"]
        focused.setdefault(kind, handle.evaluate(FOCUS_RING) | {"bg": backdrop})
        if "node" in focused:
            break
    for kind in ("button", "input", "select", "palette", "node"):
        ring = focused[kind]
        assert ring["matches"] and ring["style"] != "none" and ring["width"] >= 2, (kind, ring)
        assert contrast(rgb(ring["colour"]), rgb(ring["bg"])) >= 3, (kind, ring)
    shot(page, request, tmp_path, "node-focused")

    # text contrast of the main colours: cards, palette, panels, toolbar, the muted notes
    page.get_by_test_id("tab-issues").click()
    samples = {
        "body text": "[data-testid=node-title-reminder]",
        "node kind": "[data-testid=node-reminder] .sy-kind",
        "node id": "[data-testid=node-id-reminder]",
        "handle label": ".sy-handle-text >> nth=0",
        "palette": "[data-testid=palette-wait]",
        "validation": "[data-testid=validation-summary]",
        "toolbar": ".toolbar strong",
        "message": "[data-testid=message]",
        "muted": ".muted >> nth=0",
        "panel heading": "[data-testid=config-panel] h3",
        "field label": "[data-testid=config-panel] .field span >> nth=0",
    }
    failing = {}
    for name, selector in samples.items():
        colours = page.locator(selector).evaluate(COLOURS)
        ratio = contrast(rgb(colours["fg"]), rgb(colours["bg"]))
        if ratio < 4.5:
            failing[name] = (round(ratio, 2), colours)
    assert failing == {}

    # every button, field and select has an accessible name, as Chromium computes it, whichever side panel
    # is open: a send node's, the trigger's, a wait_for's, the settings
    cdp = page.context.new_cdp_session(page)
    assert unnamed_controls(cdp) == []
    for opened in ("node-__trigger__", "node-wait_purchase", "open-settings"):
        page.get_by_test_id(opened).click()
        expect(page.get_by_test_id("canvas")).to_be_visible()
        assert unnamed_controls(cdp) == [], opened

    # the home list's rows, opened with Enter, show the ring too
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("message")).to_contain_text("saved")
    page.get_by_test_id("go-home").click()
    expect(page.get_by_test_id("home-row-a11y_flow")).to_be_visible()
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.tagName") == "TR":
            break
    row = page.evaluate_handle("() => document.activeElement")
    ring = row.evaluate(FOCUS_RING)
    assert ring["matches"] and ring["style"] != "none" and ring["width"] >= 2, ring
    assert contrast(rgb(ring["colour"]), rgb(row.evaluate(COLOURS)["bg"])) >= 3, ring


CONTROLS = {
    "button",
    "textbox",
    "combobox",
    "checkbox",
    "spinbutton",
    "searchbox",
    "listbox",
    "radio",
    "slider",
}


def unnamed_controls(cdp: Any) -> list[tuple[str, Any]]:
    """The controls of the page's accessibility tree without a name, as (tag, attributes); at least 30 are
    looked at (the toolbar, palette, connect control and side panel)."""
    tree = cdp.send("Accessibility.getFullAXTree")["nodes"]
    controls = [n for n in tree if n.get("role", {}).get("value") in CONTROLS and not n.get("ignored")]
    assert len(controls) > 30
    nameless = [
        n["backendDOMNodeId"] for n in controls if not str(n.get("name", {}).get("value", "")).strip()
    ]
    described = [cdp.send("DOM.describeNode", {"backendNodeId": b})["node"] for b in nameless]
    return [(d["nodeName"], d.get("attributes")) for d in described]
