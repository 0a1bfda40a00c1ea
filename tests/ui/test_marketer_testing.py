"""Testing as a marketer tests, and every part of the format in the UI (issue 20, items 4 and 5), in a real
headless Chromium against a real worker: simulate the abandoned-cart example from a form (a sample contact's
attributes, events with offsets and properties, or a real contact loaded by id) and see the path on the canvas
and the timeline of actions and waits; every trigger kind and the settings from forms, checked by /validate;
the version history with a diff; a test send of an email node received by a real aiosmtpd server on loopback.
Each step's screenshot goes to the test's tmp dir (or SWITCHYARD_UI_SCREENSHOTS)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.durations import format_duration, parse_duration
from engine.templates import render
from sinks.email_message import message_id
from tests.agents.api.fixtures import ApiWorker, api_settings, example_definition, start_api_worker
from tests.sinks.fixtures import Mailbox, free_port
from tests.ui.fixtures import launch_chromium, open_tab, open_template, shot
from tests.ui.test_builder import CHROMIUM, lambda_class, post_events

pytestmark = [
    pytest.mark.kafka,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium: apt-get install -y chromium"),
]

CART = example_definition("abandoned_cart")
REPO = Path(__file__).resolve().parents[2]
SENDER = "journeys@example.com"
TEMPLATES = REPO / "examples" / "templates"


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[Mailbox, int]]:
    """A real SMTP server (aiosmtpd) on loopback, for the test sends: its mailbox and port."""
    from aiosmtpd.controller import Controller

    box, port = Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


@pytest.fixture(scope="module")
def api_worker(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory, smtp: tuple[Mailbox, int]
) -> Iterator[ApiWorker]:
    """The module's worker, its test sends going to the ``smtp`` server."""
    tmp = tmp_path_factory.mktemp("api")
    env = {"SWITCHYARD_SMTP_HOST": "127.0.0.1", "SWITCHYARD_SMTP_PORT": str(smtp[1]),
           "SWITCHYARD_SMTP_FROM": SENDER, "SWITCHYARD_TEMPLATES": str(TEMPLATES)}  # fmt: skip
    worker = start_api_worker(api_settings(kafka_bootstrap, tmp / "data"), tmp / "worker.log", env)
    yield worker
    worker.process.stop()


@pytest.fixture(scope="module")
def browser(api_worker: ApiWorker) -> Iterator[Any]:
    yield from launch_chromium()


@pytest.fixture
def page(browser: Any, api_worker: ApiWorker) -> Iterator[Any]:
    yield from open_tab(browser, f"{api_worker.client.base}/ui/#/builder", accept_dialogs=True)


def open_cart_simulation(page: Any) -> None:
    from playwright.sync_api import expect

    expect(page.locator("[data-testid=template] option[value=abandoned_cart]")).to_have_count(1)
    page.get_by_test_id("template").select_option("abandoned_cart")
    expect(page.get_by_test_id("node-reminder")).to_be_visible()
    page.get_by_test_id("tab-simulate").click()
    # the form starts with the trigger's event at the start
    expect(page.get_by_test_id("sim-event-type-0")).to_have_value(CART["trigger"]["event"])


def fill_event(page: Any, index: int, type_: str, offset: str, properties: dict[str, str]) -> None:
    page.get_by_test_id(f"sim-event-type-{index}").fill(type_)
    page.get_by_test_id(f"sim-event-offset-{index}").fill(offset)
    for k, (key, value) in enumerate(properties.items()):
        page.get_by_test_id(f"sim-prop-{index}-add").click()
        page.get_by_test_id(f"sim-prop-{index}-key-{k}").fill(key)
        page.get_by_test_id(f"sim-prop-{index}-value-{k}").fill(value)


def reminder_subject(first_name: str) -> str:
    return render(CART["nodes"]["reminder"]["params"]["subject"], {"contact": {"first_name": first_name}})


def test_simulate_from_the_form_lights_the_path_and_draws_the_timeline(
    page: Any, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    open_cart_simulation(page)
    page.get_by_test_id("sim-contact-id").fill("ann")
    page.get_by_test_id("sim-attr-add").click()
    page.get_by_test_id("sim-attr-key-0").fill("first_name")
    page.get_by_test_id("sim-attr-value-0").fill("Ann")
    fill_event(page, 0, "cart.created", "+0", {"cart_id": "k1"})
    page.get_by_test_id("sim-add-event").click()
    fill_event(page, 1, "purchase", "+1d", {"cart_id": "k1"})
    shot(page, request, tmp_path, "1-form")

    # the advanced toggle shows the script the form makes: the attributes as a profile event first
    page.get_by_test_id("sim-advanced").check()
    script = page.get_by_test_id("script").input_value()
    assert '"contact.updated"' in script and '"first_name": "Ann"' in script and '"after": "1d"' in script
    page.get_by_test_id("sim-advanced").uncheck()

    page.get_by_test_id("run-simulate").click()
    timeline = page.get_by_test_id("timeline")
    expect(timeline).to_be_visible()
    entries = page.get_by_test_id("timeline-entry")
    wait = format_duration(parse_duration(CART["nodes"]["wait_2h"]["duration"]))
    reminder = entries.filter(has_text="reminder send_email")
    expect(reminder).to_have_count(1)
    expect(reminder).to_contain_text(f"+{wait}")
    expect(reminder).to_contain_text(reminder_subject("Ann"))
    expect(entries.filter(has_text="wait_purchase waits for purchase")).to_contain_text(f"+{wait}")
    expect(entries.filter(has_text="event purchase")).to_contain_text("+1d")
    expect(entries.filter(has_text="purchased")).not_to_have_count(0)
    # the purchase came within the 24 h: no discount, no hand-over to sales
    expect(entries.filter(has_text="discount")).to_have_count(0)
    expect(entries.filter(has_text="notify_sales")).to_have_count(0)

    # the path on the canvas: what the contact went through, and nothing else
    for node in ("wait_2h", "reminder", "wait_purchase", "purchased"):
        expect(page.get_by_test_id(f"node-{node}")).to_have_class(lambda_class("on-path"))
    for node in ("discount", "wait_purchase_2", "notify_sales"):
        expect(page.get_by_test_id(f"node-{node}")).not_to_have_class(lambda_class("on-path"))
    # an entry selects its node
    reminder.click()
    expect(page.get_by_test_id("node-id")).to_have_value("reminder")
    shot(page, request, tmp_path, "2-timeline")

    # without the purchase the run goes on to the discount and sales, and the path follows
    page.get_by_test_id("sim-event-remove-1").click()
    page.get_by_test_id("run-simulate").click()
    expect(entries.filter(has_text="discount send_email")).to_have_count(1)
    expect(entries.filter(has_text="notify_sales notify")).to_have_count(1)
    expect(page.get_by_test_id("node-notify_sales")).to_have_class(lambda_class("on-path"))
    expect(page.get_by_test_id("node-purchased")).not_to_have_class(lambda_class("on-path"))
    shot(page, request, tmp_path, "3-no-purchase")


def test_a_bad_offset_is_refused_with_the_reason(page: Any, request: pytest.FixtureRequest,
                                                 tmp_path: Path) -> None:  # fmt: skip
    from playwright.sync_api import expect

    open_cart_simulation(page)
    page.get_by_test_id("sim-event-offset-0").fill("+2 hours")
    page.get_by_test_id("run-simulate").click()
    expect(page.get_by_test_id("trial-result")).to_contain_text("not a duration")
    expect(page.get_by_test_id("timeline")).to_have_count(0)
    expect(page.locator(".sy-node.on-path")).to_have_count(0)
    shot(page, request, tmp_path, "refused")


def test_simulate_a_real_contact(page: Any, api_worker: ApiWorker, request: pytest.FixtureRequest,
                                 tmp_path: Path) -> None:  # fmt: skip
    from playwright.sync_api import expect

    base = api_worker.client.base
    now = int(time.time() * 1000)
    post_events(base, [{"event_id": "sim-real-1", "contact_id": "real-bea", "type": "contact.added",
                        "ts": now, "properties": {"first_name": "Bea", "plan": "pro"}}])  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status, found = api_worker.client.call("GET", "/v1/contacts/real-bea")
        if status == 200 and found["found"]:
            break
        time.sleep(0.5)
    else:
        pytest.fail("the contact never reached the contacts table")

    open_cart_simulation(page)
    page.get_by_test_id("sim-real-contact").fill("nobody-here")
    page.get_by_test_id("sim-load-contact").click()
    expect(page.get_by_test_id("sim-note")).to_have_text("no contact nobody-here")
    expect(page.get_by_test_id("sim-contact-id")).to_have_value("sample-1")

    page.get_by_test_id("sim-real-contact").fill("real-bea")
    page.get_by_test_id("sim-load-contact").click()
    expect(page.get_by_test_id("sim-contact-id")).to_have_value("real-bea")
    keys = [page.get_by_test_id(f"sim-attr-key-{i}").input_value() for i in range(2)]
    assert sorted(keys) == ["first_name", "plan"]
    fill_event(page, 0, "cart.created", "+0", {"cart_id": "k9"})
    page.get_by_test_id("run-simulate").click()
    reminder = page.get_by_test_id("timeline-entry").filter(has_text="reminder send_email")
    expect(reminder).to_contain_text(reminder_subject("Bea"))
    shot(page, request, tmp_path, "real-contact")


def drop(page: Any, kind: str, x: int, y: int) -> None:
    target = {"x": x, "y": y}
    page.drag_and_drop(f"[data-testid=palette-{kind}]", "[data-testid=canvas]", target_position=target)


def add_trigger(page: Any, index: int, kind: str, fields: dict[str, str]) -> None:
    page.get_by_test_id("add-trigger").click()
    page.get_by_test_id(f"field-kind-{index}").select_option(kind)
    for name, value in fields.items():
        page.get_by_test_id(f"field-{name}-{index}").fill(value)


def test_every_trigger_kind_and_the_settings_from_forms_validate(
    page: Any, api_worker: ApiWorker, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page.get_by_test_id("workflow-id").fill("all_triggers")
    page.get_by_test_id("open").click()
    expect(page.get_by_test_id("message")).to_have_text("new workflow all_triggers")
    drop(page, "trigger", 250, 60)
    drop(page, "action", 250, 300)
    page.get_by_test_id("node-__trigger__").click()
    page.get_by_test_id("field-kind").select_option("inactivity")
    page.get_by_test_id("field-inactivity").fill("30d")
    page.get_by_test_id("field-events").fill("email.opened, page.viewed")
    page.get_by_test_id("field-start").select_option("action_1")
    add_trigger(page, 1, "schedule", {"schedule": "0 9 * *", "timezone": "Europe/Paris"})
    add_trigger(page, 2, "date", {"date": "contact.renewal_date", "offset": "7d"})
    add_trigger(page, 3, "score", {"score": "churn_risk", "above": "0.7", "filter": "contact.plan == 'pro'"})
    add_trigger(page, 4, "event", {"event": "page.viewed", "times": "3", "within": "7d"})
    add_trigger(page, 5, "at", {"at": "2026-05-01T09:00:00Z"})
    add_trigger(page, 6, "condition", {"condition": "'vip' in contact.tags"})
    # a cron with four fields: refused on its own trigger, and publishing is off
    expect(page.get_by_test_id("issue-trigger-1")).to_contain_text("bad cron expression")
    expect(page.get_by_test_id("publish")).to_be_disabled()
    shot(page, request, tmp_path, "1-bad-cron")
    page.get_by_test_id("field-schedule-1").fill("0 9 * * mon")
    expect(page.get_by_test_id("issue-trigger-1")).to_have_count(0)
    page.get_by_test_id("field-direction-2").select_option("after")
    shot(page, request, tmp_path, "2-triggers")

    page.get_by_test_id("open-settings").click()
    page.get_by_test_id("setting-name").fill("Every trigger")
    page.get_by_test_id("setting-description").fill("Built from forms")
    page.get_by_test_id("setting-reentry").select_option("after")
    page.get_by_test_id("setting-reentry-after").fill("14d")
    page.get_by_test_id("setting-run_key").fill("cart_id")
    page.get_by_test_id("setting-max_runs-max").fill("5")
    page.get_by_test_id("setting-max_runs-per").fill("1d")
    page.get_by_test_id("add-exit").click()
    page.get_by_test_id("exit-value-0").fill("unsubscribed")
    page.get_by_test_id("add-exit").click()
    page.get_by_test_id("exit-kind-1").select_option("condition")
    page.get_by_test_id("exit-value-1").fill("'customer' in contact.tags")
    page.get_by_test_id("setting-quiet").check()
    page.get_by_test_id("setting-quiet-start").fill("25:00")  # no such hour
    expect(page.get_by_test_id("issue-quiet_hours").first).to_be_visible()
    expect(page.get_by_test_id("validation-summary")).not_to_have_text("valid")
    shot(page, request, tmp_path, "3-bad-quiet-hours")
    page.get_by_test_id("setting-quiet-start").fill("21:30")
    page.get_by_test_id("setting-quiet-fallback").select_option("skip")
    page.get_by_test_id("setting-quiet-channel-sms").check()
    page.get_by_test_id("add-cap").click()
    page.get_by_test_id("cap-channel-0").select_option("email")
    page.get_by_test_id("cap-max-0").fill("2")
    page.get_by_test_id("cap-per-0").fill("1d")
    page.get_by_test_id("setting-max_steps").fill("500")
    expect(page.get_by_test_id("issue-quiet_hours")).to_have_count(0)
    expect(page.get_by_test_id("validation-summary")).to_have_text("valid")
    shot(page, request, tmp_path, "4-settings")
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("message")).to_have_text("draft v1 saved")

    # the stored draft, validated again by the real route, holds what the forms wrote
    status, checked = api_worker.client.call("POST", "/v1/workflows/all_triggers/validate")
    assert status == 200 and checked["valid"], checked
    status, stored = api_worker.client.call("GET", "/v1/workflows/all_triggers")
    draft = stored["definitions"][-1]
    assert draft["trigger"] == [
        {"inactivity": "30d", "events": ["email.opened", "page.viewed"]},
        {"schedule": "0 9 * * mon", "timezone": "Europe/Paris"},
        {"date": "contact.renewal_date", "after": "7d"},
        {"score": "churn_risk", "above": 0.7, "filter": "contact.plan == 'pro'"},
        {"event": "page.viewed", "times": 3, "within": "7d"},
        {"at": "2026-05-01T09:00:00Z"},
        {"condition": "'vip' in contact.tags"},
    ]
    assert draft["name"] == "Every trigger" and draft["description"] == "Built from forms"
    assert draft["settings"] == {
        "reentry": "after 14d",
        "run_key": "cart_id",
        "max_runs": {"max": 5, "per": "1d"},
        "exit_when": [{"event": "unsubscribed"}, {"condition": "'customer' in contact.tags"}],
        "quiet_hours": {"start": "21:30", "end": "08:00", "fallback": "skip", "channels": ["sms"]},
        "frequency_caps": {"email": {"max": 2, "per": "1d"}},
        "max_steps": 500,
    }

    # removing triggers down to one stores a single trigger again
    page.get_by_test_id("node-__trigger__").click()
    for index in range(6, 0, -1):
        page.get_by_test_id(f"remove-trigger-{index}").click()
    expect(page.get_by_test_id("trigger-1")).to_have_count(0)
    expect(page.get_by_test_id("field-inactivity")).to_have_value("30d")
    expect(page.get_by_test_id("trigger-0")).to_have_count(1)
    page.get_by_test_id("save").click()
    single = {"inactivity": "30d", "events": ["email.opened", "page.viewed"]}
    deadline = time.monotonic() + 10  # the message already says "saved": read until the new save shows
    while api_worker.client.call("GET", "/v1/workflows/all_triggers")[1]["definitions"][-1]["trigger"] != (
        single
    ):
        assert time.monotonic() < deadline, "the single trigger was never stored"
        time.sleep(0.2)


def test_version_history_shows_a_diff_between_two_versions(
    page: Any, api_worker: ApiWorker, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    client = api_worker.client
    expect(page.locator("[data-testid=template] option[value=abandoned_cart]")).to_have_count(1)
    page.get_by_test_id("template").select_option("abandoned_cart")
    page.get_by_test_id("workflow-id").fill("history_flow")
    before = int(time.time() * 1000)
    page.get_by_test_id("version-note").fill("first cut")
    page.get_by_test_id("publish").click()
    expect(page.get_by_test_id("message")).to_have_text("published v1")
    after = int(time.time() * 1000)

    # v2: a wait made longer, a new exit node linked in, a new name
    first = client.call("GET", "/v1/workflows/history_flow")[1]["definitions"][-1]
    wait_id = next(n for n, node in first["nodes"].items() if node["type"] == "wait" and "duration" in node)
    old_duration = first["nodes"][wait_id]["duration"]
    leaf = next(n for n, node in first["nodes"].items() if node["type"] == "action" and not node.get("next"))
    page.get_by_test_id(f"node-{wait_id}").click()
    page.get_by_test_id("field-duration").fill("5d")
    target = {"x": 900, "y": 420}
    page.drag_and_drop("[data-testid=palette-exit]", "[data-testid=canvas]", target_position=target)
    page.get_by_test_id(f"node-{leaf}").click()
    page.get_by_test_id("field-next").select_option("exit_1")
    page.get_by_test_id("open-settings").click()
    page.get_by_test_id("setting-name").fill("Welcome, longer")
    expect(page.get_by_test_id("validation-summary")).to_have_text("valid")
    page.get_by_test_id("version-note").fill("slower and with an exit")
    page.get_by_test_id("publish").click()
    expect(page.get_by_test_id("message")).to_have_text("published v2")

    history = page.get_by_test_id("history")
    expect(history).to_contain_text("first cut")
    expect(history).to_contain_text("slower and with an exit")
    versions = client.call("GET", "/v1/workflows/history_flow")[1]["versions"]
    assert before <= versions[0]["published_at"] <= after
    assert versions[1]["published_at"] >= versions[0]["published_at"]

    # v1 -> v2 (the default pair): what the server computes is what the panel draws
    page.get_by_test_id("diff-run").click()
    status, diff = client.call("GET", "/v1/workflows/history_flow/diff?from=1&to=2")
    assert status == 200
    expect(page.get_by_test_id("diff-added")).to_have_count(1)
    expect(page.get_by_test_id("diff-added")).to_contain_text("exit_1")
    expect(page.get_by_test_id("diff-removed")).to_have_count(0)
    changed = page.get_by_test_id("diff-changed")
    expect(changed).to_have_count(len(diff["changed"]))
    wait_row = changed.filter(has_text=wait_id).get_by_test_id("diff-field")
    expect(wait_row).to_contain_text("duration")
    expect(wait_row).to_contain_text(old_duration)
    expect(wait_row).to_contain_text("5d")
    expect(changed.filter(has_text=leaf).get_by_test_id("diff-field")).to_contain_text("exit_1")
    expect(page.get_by_test_id("diff-workflow")).to_contain_text("Welcome, longer")
    assert {c["node"] for c in diff["changed"]} == {wait_id, leaf}
    shot(page, request, tmp_path, "1-diff")

    # the other way round the exit is removed; a version against itself has nothing
    page.get_by_test_id("diff-from").select_option("2")
    page.get_by_test_id("diff-to").select_option("1")
    page.get_by_test_id("diff-run").click()
    expect(page.get_by_test_id("diff-removed")).to_contain_text("exit_1")
    expect(page.get_by_test_id("diff-added")).to_have_count(0)
    page.get_by_test_id("diff-to").select_option("2")
    page.get_by_test_id("diff-run").click()
    expect(page.get_by_test_id("diff")).to_contain_text("the same journey")
    expect(page.get_by_test_id("diff-changed")).to_have_count(0)
    shot(page, request, tmp_path, "2-same")

    assert client.call("GET", "/v1/workflows/history_flow/diff?from=1&to=9")[0] == 404
    assert client.call("GET", "/v1/workflows/history_flow/diff?from=one&to=2")[0] == 400


def wait_for_contact(client: Any, contact_id: str, ready: Any) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status, found = client.call("GET", f"/v1/contacts/{contact_id}")
        if status == 200 and found["found"] and ready(found["profile"]):
            return dict(found["profile"])
        time.sleep(0.5)
    raise AssertionError(f"{contact_id} never reached the contacts table as expected")


def html_part(message: Any) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/html":
            return bytes(part.get_payload(decode=True)).decode()
    raise AssertionError("no HTML part")


def test_a_test_send_reaches_the_smtp_server_marked_and_uncounted(
    page: Any,
    api_worker: ApiWorker,
    smtp: tuple[Mailbox, int],
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    client, mailbox = api_worker.client, smtp[0]
    now = int(time.time() * 1000)
    post_events(client.base, [{"event_id": "send-1", "contact_id": "send-cid", "type": "contact.added",
                               "ts": now, "properties": {"first_name": "Cleo"}}])  # fmt: skip
    wait_for_contact(client, "send-cid", lambda p: p["attrs"].get("first_name") == "Cleo")

    open_template(page, "abandoned_cart", "send_flow")  # never saved: the draft goes with the request
    page.get_by_test_id("node-reminder").click()
    page.get_by_test_id("tab-test-send").click()
    expect(page.get_by_test_id("test-send-node")).to_have_value("reminder")
    page.get_by_test_id("test-send-to").fill("marketer@example.com")
    page.get_by_test_id("test-send-attr-value-0").fill("Dora")
    page.get_by_test_id("test-send-prop-add").click()
    page.get_by_test_id("test-send-prop-key-0").fill("cart_id")
    page.get_by_test_id("test-send-prop-value-0").fill("k7")
    page.get_by_test_id("test-send-run").click()
    result = page.get_by_test_id("test-send-result")
    expect(result).to_contain_text("sent to marketer@example.com")
    shot(page, request, tmp_path, "1-sample-sent")

    assert len(mailbox.messages) == 1
    message = mailbox.messages[0]
    assert message["To"] == "marketer@example.com" and SENDER in message["From"]
    assert message["Subject"] == "[Test] " + reminder_subject("Dora")
    assert message["List-Unsubscribe"] is None or "http" not in message["List-Unsubscribe"]
    assert "/cart/k7" in html_part(message)  # run.vars.cart_id from the event's properties

    # as a stored contact: their own attributes
    page.get_by_test_id("test-send-contact").fill("send-cid")
    page.get_by_test_id("test-send-run").click()
    expect(result).to_contain_text(reminder_subject("Cleo"))
    assert len(mailbox.messages) == 2
    assert mailbox.messages[1]["Subject"] == "[Test] " + reminder_subject("Cleo")
    # an unknown contact and a node that sends no email are refused, and nothing is sent
    page.get_by_test_id("test-send-contact").fill("nobody-here")
    page.get_by_test_id("test-send-run").click()
    expect(result).to_contain_text("no stored contact")
    shot(page, request, tmp_path, "2-refused")
    draft = {**CART, "status": "draft"}
    status, sent = client.call("POST", "/v1/workflows/send_flow/nodes/reminder/test-send",
                               {"to": "b@example.com", "definition": draft})  # fmt: skip
    assert status == 200 and sent["test"] and sent["action_id"].startswith("test-")
    assert len(mailbox.messages) == 3 and mailbox.messages[2]["Message-ID"] == sent["message_id"]
    assert mailbox.messages[2]["Message-ID"] == message_id(sent["action_id"], SENDER)
    status, body = client.call("POST", "/v1/workflows/send_flow/nodes/notify_sales/test-send",
                               {"to": "a@example.com", "definition": draft})  # fmt: skip
    assert (status, body["error"]) == (400, "not_an_email_node")
    status, body = client.call("POST", "/v1/workflows/send_flow/nodes/reminder/test-send",
                               {"to": "a@example.com, b@example.com", "definition": draft})  # fmt: skip
    assert (status, body["error"]) == (400, "bad_address")
    status, body = client.call("POST", "/v1/workflows/send_flow/nodes/nope/test-send",
                               {"to": "a@example.com", "definition": draft})  # fmt: skip
    assert status == 404
    assert len(mailbox.messages) == 3

    # never counted: an event posted after the sends is folded in, and no email.sent ever was
    post_events(client.base, [{"event_id": "send-2", "contact_id": "send-cid", "type": "page.viewed",
                               "ts": now + 1000, "properties": {}}])  # fmt: skip
    profile = wait_for_contact(client, "send-cid", lambda p: p["counts"].get("page.viewed") == 1)
    assert "email.sent" not in profile["counts"]


def test_params_and_split_arms_are_forms(page: Any, api_worker: ApiWorker, request: pytest.FixtureRequest,
                                         tmp_path: Path) -> None:  # fmt: skip
    from playwright.sync_api import expect

    drip = example_definition("drip_campaign")
    arms = drip["nodes"]["subject_test"]["arms"]
    open_template(page, "drip_campaign", "forms_flow")
    page.get_by_test_id("node-subject_test").click()
    for i, arm in enumerate(arms):
        expect(page.get_by_test_id(f"arm-name-{i}")).to_have_value(arm["name"])
        expect(page.get_by_test_id(f"arm-next-{i}")).to_have_value(arm["next"])
    expect(page.get_by_test_id("arms-total")).to_contain_text(f"total {sum(a['weight'] for a in arms)}%")
    page.get_by_test_id("arm-weight-1").fill("30")  # the weights and holdout no longer make 100
    expect(page.get_by_test_id("arms-total")).to_contain_text(f"total {arms[0]['weight'] + 30}%")
    expect(page.get_by_test_id("issue-arms").first).to_contain_text("add up to")
    expect(page.get_by_test_id("validation-summary")).not_to_have_text("valid")
    page.get_by_test_id("arm-weight-0").fill(str(100 - 30 - drip["nodes"]["subject_test"]["holdout"]))
    expect(page.get_by_test_id("validation-summary")).to_have_text("valid")

    page.get_by_test_id("node-email_1a").click()
    params = drip["nodes"]["email_1a"]["params"]
    expect(page.get_by_test_id("params-key-0")).to_have_value(next(iter(params)))
    page.get_by_test_id("params-add").click()
    page.get_by_test_id(f"params-key-{len(params)}").fill("discount_percent")
    page.get_by_test_id(f"params-value-{len(params)}").fill("15")
    shot(page, request, tmp_path, "params")
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("message")).to_contain_text("saved")
    stored = api_worker.client.call("GET", "/v1/workflows/forms_flow")[1]["definitions"][-1]
    assert stored["nodes"]["email_1a"]["params"] == {**params, "discount_percent": 15}
    expected = {"name": arms[1]["name"], "weight": 30, "next": arms[1]["next"]}
    assert stored["nodes"]["subject_test"]["arms"][1] == expected
