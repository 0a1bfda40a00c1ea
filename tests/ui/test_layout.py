"""The canvas is readable on open (issue 20, "a readable canvas"): every example workflow, opened from the
template picker in a real headless Chromium at 1440x900, is laid out with no two node cards intersecting and,
after fit-to-view, every card inside the canvas; a "Tidy up" lays a messy canvas out again. A screenshot per
workflow is saved (SWITCHYARD_UI_SCREENSHOTS, else the test's tmp dir)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.agents.api.fixtures import ApiWorker
from tests.ui.fixtures import launch_chromium, open_tab, open_template, shot
from tests.ui.test_builder import CHROMIUM

pytestmark = [
    pytest.mark.kafka,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium: apt-get install -y chromium"),
]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "workflows"
NAMES = sorted(path.stem for path in EXAMPLES.glob("*.yaml"))
CARDS = ".react-flow__node > [data-testid^=node-]"
Box = dict[str, float]

BOXES = """sel => [...document.querySelectorAll(sel)].map(e => {
  const r = e.getBoundingClientRect();
  return {id: e.dataset.testid, x: r.x, y: r.y, width: r.width, height: r.height};
})"""


@pytest.fixture(scope="module")
def browser(api_worker: ApiWorker) -> Iterator[Any]:
    yield from launch_chromium()


@pytest.fixture
def page(browser: Any, api_worker: ApiWorker) -> Iterator[Any]:
    yield from open_tab(browser, f"{api_worker.client.base}/ui/#/builder")


def node_count(name: str) -> int:
    definition: dict[str, Any] = yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text(encoding="utf-8"))
    return len(definition["nodes"]) + (1 if definition.get("trigger") else 0)


def settled_boxes(page: Any, expected: int, timeout: float = 10.0) -> list[Box]:
    """The cards' boxes once the layout and the fit-to-view stopped moving them (two equal reads)."""
    deadline = time.monotonic() + timeout
    previous: list[Box] = []
    while time.monotonic() < deadline:
        page.wait_for_timeout(250)
        boxes: list[Box] = page.evaluate(BOXES, CARDS)
        if len(boxes) == expected and boxes == previous:
            return boxes
        previous = boxes
    raise AssertionError(f"the cards did not settle: {previous}")


def intersect(a: Box, b: Box) -> bool:
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])  # fmt: skip


def inside(box: Box, frame: Box) -> bool:
    return (box["x"] >= frame["x"] - 0.5 and box["y"] >= frame["y"] - 0.5
            and box["x"] + box["width"] <= frame["x"] + frame["width"] + 0.5
            and box["y"] + box["height"] <= frame["y"] + frame["height"] + 0.5)  # fmt: skip


def check_layout(page: Any, expected: int) -> list[Box]:
    boxes = settled_boxes(page, expected)
    frame: Box = page.get_by_test_id("canvas").bounding_box()
    overlapping = [(a["id"], b["id"]) for i, a in enumerate(boxes) for b in boxes[i + 1 :] if intersect(a, b)]
    assert overlapping == [], f"cards drawn on each other: {overlapping}"
    outside = [b["id"] for b in boxes if not inside(b, frame)]
    assert outside == [], f"cards outside the canvas after fit-to-view: {outside} (canvas {frame})"
    return boxes


def test_there_are_the_example_workflows() -> None:
    assert len(NAMES) == 13


@pytest.mark.parametrize("name", NAMES)
def test_an_example_opens_readable(
    page: Any, request: pytest.FixtureRequest, tmp_path: Path, name: str
) -> None:

    open_template(page, name)
    check_layout(page, node_count(name))
    # the cards say what the nodes do, not only their type
    titles = page.locator(".sy-title").all_inner_texts()
    assert all(t.strip() for t in titles)
    check_minimap(page, node_count(name))
    shot(page, request, tmp_path, name)


def check_minimap(page: Any, expected: int) -> None:
    """The minimap draws every card in a colour that stands out from its white background (React Flow's
    default light grey left it looking empty)."""
    from playwright.sync_api import expect

    minimap_nodes = page.locator(".react-flow__minimap-node")
    expect(minimap_nodes).to_have_count(expected)
    fills = minimap_nodes.evaluate_all("els => els.map((el) => getComputedStyle(el).fill)")
    light = [fill for fill in fills if sum(int(c) for c in re.findall(r"\d+", fill)[:3]) > 3 * 200]
    assert light == [], f"minimap nodes too light to see: {light}"


def test_tidy_up_lays_out_a_messy_canvas(page: Any, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    open_template(page, "lead_nurturing")
    boxes = check_layout(page, node_count("lead_nurturing"))
    # drag one card onto another: they overlap, until "Tidy up"
    first, second = boxes[1], boxes[2]
    page.mouse.move(first["x"] + 20, first["y"] + 10)
    page.mouse.down()
    page.mouse.move(second["x"] + 30, second["y"] + 15, steps=8)
    page.mouse.up()
    moved = settled_boxes(page, len(boxes))
    assert any(intersect(a, b) for i, a in enumerate(moved) for b in moved[i + 1 :])
    page.get_by_test_id("tidy").click()
    check_layout(page, len(boxes))
    expect(page.get_by_test_id("validation-summary")).to_have_text("valid")
    shot(page, request, tmp_path, "tidied")
