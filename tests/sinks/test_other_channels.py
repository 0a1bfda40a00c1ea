"""Tasks, notifications, CRM, documents, SMS and push against real loopback peers, and start-up refusals."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
from collections import Counter
from pathlib import Path

import orjson
import pytest

from agents.settings import Settings
from sinks.exceptions import SinkConfigError
from sinks.service import SinkService
from sinks.settings import ProviderSettings, SinkSettings
from switchyard.commands.tasks import register as register_tasks
from tests.sinks.fixtures import (
    CRM_SECRET,
    NOTIFY_SECRET,
    SIGNATURE_SECRET,
    Mailbox,
    Receiver,
    action,
    at_least,
    produce_actions,
    read_json,
    running_sinks,
    serving,
    smtp_server,
    smtp_settings,
)

pytestmark = pytest.mark.kafka


async def test_tasks_round_robin_fairly_across_restarts(
    sink_settings: SinkSettings, test_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = sink_settings.with_(teams={"sales": ("ana", "ben", "cy")})
    first = [action("task", "create_task", n, title=f"Call {n}", team="sales", due="1d") for n in range(4)]
    second = [
        action("task", "create_task", n, title=f"Call {n}", team="sales", due="1d") for n in range(4, 6)
    ]
    async with running_sinks(settings, ["task"]):
        await produce_actions(settings, "task", first)
        await read_json(settings, "events", at_least(4, "task.created"))
    async with running_sinks(settings, ["task"]):  # a restart: the cursor continues where it was
        await produce_actions(settings, "task", second)
        events = await read_json(settings, "events", at_least(6, "task.created"))
        tasks = await read_json(settings, "tasks", at_least(6))
    # Four tasks, then two after the restart: a cursor that restarted at "ana" would give her three.
    assert Counter(e["properties"]["assignee"] for e in events) == {"ana": 2, "ben": 2, "cy": 2}
    row = next(t for t in tasks if t["task_id"] == "a-task-2")
    assert row["key"] == "a-task-2"
    event = next(e for e in events if e["properties"]["task_id"] == "a-task-2")
    assert row["title"] == "Call 2" and row["status"] == "open"
    assert row["assignee"] == event["properties"]["assignee"]
    assert row["due_at"] == 1_700_000_000_002 + 86_400_000
    assert row["contact_id"] == "c-2" and row["workflow_id"] == "wf" and row["run_id"] == "run-2"

    parser = argparse.ArgumentParser()
    register_tasks(parser.add_subparsers())
    args = parser.parse_args(["tasks", "list", "--assignee", "ben", "--json"])
    assert await asyncio.to_thread(args.run, args, test_settings) == 0
    listed = [orjson.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sorted(t["task_id"] for t in listed) == sorted(
        e["properties"]["task_id"] for e in events if e["properties"]["assignee"] == "ben"
    )


async def test_notifications_by_email_and_by_webhook(sink_settings: SinkSettings) -> None:
    teams = {"legal": ("li", "mo")}
    async with smtp_server(Mailbox()) as (mailbox, port):
        settings = sink_settings.with_(
            smtp=smtp_settings(port), teams=teams, user_email_domain="corp.example"
        )
        async with running_sinks(settings, ["notify"]):
            await produce_actions(settings, "notify", [
                action("notify", "notify", 1, team="legal", reason="deadline", message="Doc d-1 unsigned"),
                action("notify", "notify", 2, user="ana@corp.example", reason="stale", message="Lead idle"),
            ])  # fmt: skip
            events = await read_json(settings, "events", at_least(2, "notification.sent"))
    sent = {e["properties"]["action_id"]: e["properties"] for e in events}
    assert sent["a-notify-1"]["users"] == ["li", "mo"] and sent["a-notify-1"]["via"] == "email"
    assert sorted(m["To"] for m in mailbox.messages) == [
        "ana@corp.example",
        "li@corp.example, mo@corp.example",
    ]
    assert any(m["Subject"] == "[deadline] Doc d-1 unsigned" for m in mailbox.messages)
    async with serving(Receiver(secret=NOTIFY_SECRET)) as receiver:
        settings = sink_settings.with_(notify_via="webhook", notify_url=receiver.url("/notify"))
        async with running_sinks(settings, ["notify"]):
            await produce_actions(
                settings, "notify", [action("notify", "notify", 3, user="ben", reason="assignment")]
            )
            await read_json(settings, "events", at_least(3, "notification.sent"))
    body = receiver.bodies["a-notify-3"]
    assert body["recipient"] == {"user": "ben"} and body["reason"] == "assignment"


async def test_crm_update_writes_back_and_applies_to_profile(sink_settings: SinkSettings) -> None:
    async with serving(Receiver(secret=CRM_SECRET)) as crm:
        settings = sink_settings.with_(crm_url=crm.url("/crm"))
        async with running_sinks(settings, ["crm"]):
            fields = {"lifecycle_stage": "demo_requested"}
            await produce_actions(
                settings, "crm", [action("crm", "crm_update", 1, object="contact", fields=fields)]
            )
            events = await read_json(settings, "events", at_least(2))
    assert crm.bodies["a-crm-1"]["fields"] == fields
    by_type = {e["type"]: e for e in events}
    assert by_type["crm.synced"]["properties"]["status"] == 200
    assert by_type["crm.updated"]["properties"] == fields  # nothing else may land in the profile's attrs
    assert by_type["crm.updated"]["event_id"] == "a-crm-1:crm.updated"


async def test_documents_are_stored_by_hash_and_sent_for_signature(sink_settings: SinkSettings) -> None:
    (sink_settings.templates_dir / "contract.html").write_text("<h1>Contract {{ params.deal_id }}</h1>\n")
    async with serving(Receiver(secret=SIGNATURE_SECRET)) as signer:
        settings = sink_settings.with_(signature_url=signer.url("/sign"))
        async with running_sinks(settings, ["document"]):
            generate = action(
                "document", "generate_document", 1, contact="c-9", template="contract", document_id="d-1"
            )
            generate["params"]["deal_id"] = "<big>"
            await produce_actions(settings, "document", [generate])
            await read_json(settings, "events", at_least(1, "document.generated"))
            await produce_actions(settings, "document", [
                action("document", "request_signature", 2, contact="c-9", document_id="d-1",
                       signer_email="ana@example.com"),
            ])  # fmt: skip
            events = await read_json(settings, "events", at_least(1, "signature.requested"))
            # another contact's workflow with the same document id: never sent c-9's document
            await produce_actions(settings, "document", [
                action("document", "request_signature", 3, contact="c-10", document_id="d-1",
                       signer_email="eve@example.com"),
            ])  # fmt: skip
            events = await read_json(settings, "events", at_least(1, "action.failed"))
    refused = next(e for e in events if e["type"] == "action.failed")
    assert refused["contact_id"] == "c-10" and "no document 'd-1'" in refused["properties"]["error"]
    assert "a-document-3" not in signer.bodies
    expected = b"<h1>Contract &lt;big&gt;</h1>\n"
    digest = hashlib.sha256(expected).hexdigest()
    generated = next(e for e in events if e["type"] == "document.generated")["properties"]
    assert generated["sha256"] == digest and generated["document_id"] == "d-1"
    assert Path(generated["path"]) == settings.documents_dir / f"{digest}.html"
    assert Path(generated["path"]).read_bytes() == expected
    request = signer.bodies["a-document-2"]
    assert request["sha256"] == digest and request["signer_email"] == "ana@example.com"
    assert request["reply_with"]["type"] == "document.signed"


async def test_sms_and_push_go_through_the_http_provider(sink_settings: SinkSettings) -> None:
    async with serving(Receiver(signed=False)) as provider:
        settings = sink_settings.with_(sms=ProviderSettings(provider.url("/sms"), token="tok"),
                                       push=ProviderSettings(provider.url("/push")))  # fmt: skip
        async with running_sinks(settings, ["sms", "push"]):
            await produce_actions(settings, "sms", [action("sms", "send_sms", 1, to="+15550001", body="Hi")])
            await produce_actions(
                settings, "push", [action("push", "send_push", 2, title="New", body="Look")]
            )
            events = await read_json(settings, "events", at_least(2))
    by_type = {e["type"]: e["properties"] for e in events}
    assert by_type["sms.sent"]["provider_id"] == "msg-a-sms-1"
    assert by_type["push.sent"]["provider_id"] == "msg-a-push-2"
    assert provider.bodies["a-sms-1"]["to"] == "+15550001" and provider.bodies["a-sms-1"]["body"] == "Hi"
    assert provider.bodies["a-push-2"]["title"] == "New"
    assert provider.authorization == {"a-sms-1": "Bearer tok", "a-push-2": ""}


async def test_unconfigured_channels_refuse_to_start(sink_settings: SinkSettings) -> None:
    for channel, setting in (("sms", "SWITCHYARD_SMS_URL"), ("push", "SWITCHYARD_PUSH_URL"),
                             ("email", "SWITCHYARD_SMTP_HOST"), ("crm", "SWITCHYARD_CRM_URL")):  # fmt: skip
        service = SinkService(sink_settings, [channel], strict=True)
        with pytest.raises(SinkConfigError, match=setting):
            await asyncio.wait_for(service.run(asyncio.Event()), 10)
        assert service.report.refused.keys() == {channel}
