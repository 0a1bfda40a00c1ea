"""The builder's helper routes on a small aiohttp app on loopback, behind the real door (token, size): a
condition read into rows by the engine's parser, rows written back by the builder's own JS
(ui/src/conditionText.js, run in Node) and read again, and email previews for sample contacts.
Every answer is checked against the OpenAPI document."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import jsonschema
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from agents.api.condition_rows import explain, quote
from agents.api.config import ApiConfig
from agents.api.context import CONTEXT, ApiContext
from agents.api.http import api_middleware
from agents.api.kafka_io import KafkaGateway
from agents.api.routes import conditions, message_templates
from agents.definitions import DefinitionCache
from engine.conditions import compile_condition, parse
from tests.agents.api.fixtures import response_schema

TOKEN = "builder-routes-token"
AUTH = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
CONDITION_TEXT_JS = Path(__file__).resolve().parents[3] / "ui" / "src" / "conditionText.js"
NOW = 1_767_225_600_000


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[TestServer]:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "hello.txt").write_text("Hi {{ contact.first_name | default('there') }}, {{ params.offer }}")
    (templates / "hello.html").write_text("<p>{{ params.offer }} for {{ contact.id }}</p>")
    (templates / "broken.txt").write_text("{{ params.x | nosuchfilter }}")
    config = ApiConfig(token=TOKEN, max_body_bytes=20_000, templates_dir=templates)
    app = web.Application(middlewares=[api_middleware(config)])
    app[CONTEXT] = ApiContext(config=config, definitions=DefinitionCache("127.0.0.1:1", "unused"),
                              kafka=KafkaGateway("127.0.0.1:1"), events_topic="e", workflows_topic="w",
                              analytics_topic="a", contacts_changelog="c", partitions=1, max_event_bytes=1000,
                              dead_letter_topic="d", clock=lambda: NOW)  # fmt: skip
    conditions.add_routes(app.router)
    message_templates.add_routes(app.router)
    test_server = TestServer(app, host="127.0.0.1")
    await test_server.start_server()
    yield test_server
    await test_server.close()


async def call(
    server: TestServer, method: str, path: str, body: Any = None,
    headers: dict[str, str] | None = None, raw: bytes | None = None,
) -> tuple[int, Any]:  # fmt: skip
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, str(server.make_url(path)), data=data, headers=headers or AUTH) as response,
    ):
        answer = await response.json(content_type=None)
        jsonschema.Draft202012Validator(response_schema(method, path, response.status)).validate(answer)
        return response.status, answer


def rows_to_text(groups: list[dict[str, Any]]) -> list[str]:
    """The builder's JS writing each group of rows as condition text."""
    node = shutil.which("node")
    assert node, "Node.js is needed (it builds the UI too)"
    script = ("import {groupText} from " + json.dumps(CONDITION_TEXT_JS.as_uri()) + ";"
              "let s='';process.stdin.on('data',d=>s+=d);"
              "process.stdin.on('end',()=>"
              "console.log(JSON.stringify(JSON.parse(s).map(groupText))));")  # fmt: skip
    done = subprocess.run([node, "--input-type=module", "-e", script], input=json.dumps(groups),
                          capture_output=True, text=True, check=True, timeout=30)  # fmt: skip
    texts: list[str] = json.loads(done.stdout)
    return texts


def test_simple_conditions_read_as_rows() -> None:
    answer = explain("contact.plan == 'pro' and (event.amount >= -2.5 or contact.counts['email.opened'] > 3)")
    assert answer["valid"] and answer["reason"] is None
    assert answer["rows"] == {"op": "and", "items": [
        {"field": "contact.plan", "op": "==", "type": "text", "value": "pro"},
        {"op": "or", "items": [
            {"field": "event.amount", "op": ">=", "type": "number", "value": "-2.5"},
            {"field": "contact.counts['email.opened']", "op": ">", "type": "number",
             "value": "3"}]}]}  # fmt: skip
    assert explain("now - contact.last_seen > 30d")["rows"] is None  # arithmetic: the raw editor
    for text in ("has_tag('vip')", "not contact.x exists", "contact.a == contact.b", "true",
                 "'vip' in contact.tags",
                 "contact.tags in ['a,b', 'c']", "contact.x in [1, 'a']", "contact.x == null"):  # fmt: skip
        answer = explain(text)
        assert (
            answer["valid"] and answer["rows"] is None and answer["reason"].startswith("not representable")
        ), text
    broken = explain("event.amount >")
    assert not broken["valid"] and broken["error"]["position"] == 14 and broken["rows"] is None
    assert not explain("contact.nosuchroot.x == 1 and nosuch == 2")["valid"]  # the compiler's names check too


def test_rows_written_by_the_builder_compile_and_read_back_the_same() -> None:
    nasty = ["it's", 'say "hi"', "back\\slash", "line\nbreak\ttab", "x' or contact.plan == 'y", "\\'", "é ✓"]
    groups = [
        {"op": "and", "items": [{"field": "event.url", "op": "contains", "type": "text", "value": value}]}
        for value in nasty
    ]
    groups.append({"op": "or", "items": [
        {"field": "contact.score", "op": ">", "type": "number", "value": "70%"},
        {"field": "event.properties['page-name']", "op": "==", "type": "text", "value": "pricing"},
        {"op": "and", "items": [
            {"field": "contact.plan", "op": "in", "type": "text", "value": ["pro", "team"]},
            {"field": "run.vars.total", "op": "<=", "type": "number", "value": "-3"},
            {"field": "contact.phone", "op": "not exists", "type": "none", "value": None},
            {"field": "event.path", "op": "matches", "type": "text", "value": "^/p(a|b)$"},
            {"field": "contact.vip", "op": "!=", "type": "boolean", "value": "true"},
            {"field": "contact.age", "op": "<", "type": "number", "value": "30d"}]}]})  # fmt: skip
    texts = rows_to_text(groups)
    for group, text in zip(groups, texts, strict=True):
        compile_condition(text)  # the engine's parser and compiler accept it
        assert explain(text)["rows"] == group, text
    assert texts[0] == "event.url contains " + quote("it's")
    injected = parse(texts[4])  # a value cannot add a second test
    assert type(injected).__name__ == "Binary" and injected.right.value == nasty[4]  # type: ignore[union-attr]


def test_rows_the_builder_refuses_to_write() -> None:
    node = shutil.which("node")
    assert node
    bad = [{"field": "contact.x) or (true", "op": "==", "type": "text", "value": "a"},  # a key, quoted
           {"field": "contact", "op": "==", "type": "text", "value": "a"},
           {"field": "contact.x", "op": ">", "type": "number", "value": "1 or true"},
           {"field": "contact.x", "op": "==", "type": "boolean", "value": "yes"},
           {"field": "now", "op": "==", "type": "number", "value": "1"}]  # fmt: skip
    script = ("import {rowText} from " + json.dumps(CONDITION_TEXT_JS.as_uri()) + ";"
              "const rows=" + json.dumps(bad) + ";"
              "console.log(JSON.stringify(rows.map(r=>{try{return rowText(r)}"
              "catch(e){return null}})));")  # fmt: skip
    done = subprocess.run([node, "--input-type=module", "-e", script], capture_output=True, text=True,
                          check=True, timeout=30)  # fmt: skip
    quoted, *refused = json.loads(done.stdout)
    assert refused == [None, None, None, None]
    assert explain(quoted)["rows"] == {"op": "and", "items": [{**bad[0], "field": "contact['x) or (true']"}]}


async def test_explain_route_is_behind_the_token_and_bounded(server: TestServer) -> None:
    status, answer = await call(
        server, "POST", "/v1/conditions/explain", {"expression": "contact.plan == 'pro'"}
    )
    assert status == 200 and answer["rows"]["items"][0]["value"] == "pro"
    status, answer = await call(server, "POST", "/v1/conditions/explain", {"expression": "a ="})
    assert status == 200 and not answer["valid"] and "==" in answer["error"]["hint"]
    assert (await call(server, "POST", "/v1/conditions/explain", {"expression": 1}))[0] == 400
    assert (await call(server, "POST", "/v1/conditions/explain", {"expression": "x" * 10_001}))[0] == 413
    assert (await call(server, "POST", "/v1/conditions/explain", raw=b"x" * 30_000))[0] == 413
    no_token = {"Content-Type": "application/json"}
    assert (await call(server, "POST", "/v1/conditions/explain", {"expression": "true"}, no_token))[0] == 401


async def test_preview_renders_subject_and_body_for_sample_contacts(server: TestServer) -> None:
    status, listed = await call(server, "GET", "/v1/message-templates")
    assert status == 200
    assert listed["templates"] == [
        {"name": "broken", "parts": ["txt"]},
        {"name": "hello", "parts": ["html", "txt"]},
    ]
    params = {
        "subject": "{{ contact.first_name | default('Hi') }}, {{ event.sku }} is back",
        "offer": "10% off",
    }
    ada = {"template": "hello", "params": params, "contact": {"attrs": {"first_name": "Ada"}},
           "event": {"type": "restock", "properties": {"sku": "K-1"}}}  # fmt: skip
    status, answer = await call(server, "POST", "/v1/message-templates/preview", ada)
    assert status == 200 and answer["contact_source"] == "sample"
    assert answer["subject"] == "Ada, K-1 is back"
    # the body sees the contact as the engine's action carries it (engine.templates.profile_snapshot)
    assert answer["text"] == "Hi Ada, 10% off"
    assert answer["html"] == "<p>10% off for sample</p>"
    status, answer = await call(server, "POST", "/v1/message-templates/preview", {**ada, "contact": {}})
    assert status == 200 and answer["subject"] == "Hi, K-1 is back"  # the fallback
    assert answer["text"] == "Hi there, 10% off"


async def test_preview_errors_are_clear(server: TestServer) -> None:
    path = "/v1/message-templates/preview"
    status, answer = await call(server, "POST", path, {"template": "nope"})
    assert (status, answer["error"]) == (404, "unknown_template")
    status, answer = await call(server, "POST", path, {"template": "../hello"})
    assert (status, answer["error"]) == (400, "bad_template_name")
    status, answer = await call(server, "POST", path, {"template": "broken"})
    assert (status, answer["error"]) == (422, "template_error") and "nosuchfilter" in answer["message"]
    status, answer = await call(server, "POST", path, {"template": "hello", "params": {"subject": "{{ x"}})
    assert (status, answer["error"]) == (422, "template_error")
    status, answer = await call(server, "POST", path, {"template": "hello", "contact": {"attrs": []}})
    assert (status, answer["error"]) == (400, "bad_contact")
    bomb = {"template": "hello", "params": {"subject": "{{ 'x' * 10000000 }}"}}
    assert (await call(server, "POST", path, bomb))[0] == 422  # the sandbox's bounds hold here too
    no_token = {"Content-Type": "application/json"}
    assert (await call(server, "POST", path, {"template": "hello"}, no_token))[0] == 401
