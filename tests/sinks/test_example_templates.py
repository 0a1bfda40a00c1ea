"""Every email template the example workflows name exists, and renders with the params they send."""

from __future__ import annotations

from pathlib import Path

import orjson

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


def test_a_body_greets_the_contact_the_action_carries() -> None:
    from sinks.email_sink import EmailBody
    from sinks.records import parse_action
    from sinks.template_files import TemplateFiles

    def body_for(profile: dict[str, object] | None) -> str:
        params = {"template": "cart_reminder", "cart_id": "K"}
        record: dict[str, object] = {"action_id": "a1", "channel": "email", "type": "send_email",
                                     "contact_id": "c1", "params": params}  # fmt: skip
        if profile is not None:
            record["profile"] = profile
        _, html = EmailBody(TemplateFiles(REPO / "examples" / "templates")).render(
            parse_action(orjson.dumps(record))
        )
        assert html is not None
        return html

    assert "<p>Hi Ada,</p>" in body_for({"attrs": {"first_name": "Ada"}})
    assert "<p>Hi there,</p>" in body_for({"attrs": {}})
    assert "<p>Hi there,</p>" in body_for(None)  # an action from before profiles were carried
