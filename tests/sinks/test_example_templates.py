"""Every email template the example workflows name exists, and renders with the params they send."""

from __future__ import annotations

from pathlib import Path

from engine.parser import parse_text
from engine.templates import render_html

REPO = Path(__file__).resolve().parents[2]


def email_params() -> list[dict[str, object]]:
    found = []
    for path in sorted((REPO / "examples" / "workflows").glob("*.yaml")):
        for node in parse_text(path.read_text(), str(path)).data["nodes"].values():
            if node.get("action") == "send_email":
                found.append(node["params"])
    return found


def test_every_example_email_has_a_template_that_renders() -> None:
    params = email_params()
    assert len(params) >= 15
    for p in params:
        template = REPO / "examples" / "templates" / f"{p['template']}.html"
        assert template.is_file(), f"missing {template.name}"
        html = render_html(template.read_text(), {"params": {k: "X" for k in p}, "contact": {"id": "c"}})
        assert html.strip() and "{{" not in html
