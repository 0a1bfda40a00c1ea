"""The webhook channel against a real aiohttp receiver: delivery, outcomes, retries, DLQ, signatures."""

from __future__ import annotations

import asyncio
import base64

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from sinks.settings import RetryPolicy, SinkSettings
from tests.sinks.fixtures import (
    CRM_SECRET,
    OLD_SECRET,
    SECRET,
    Receiver,
    action,
    at_least,
    produce_actions,
    read_json,
    running_sinks,
    serving,
)

pytestmark = pytest.mark.kafka


async def test_webhook_delivers_signed_json_and_reports_delivered(sink_settings: SinkSettings) -> None:
    async with serving(Receiver()) as receiver, running_sinks(sink_settings, ["webhook"]):
        actions = [action("webhook", "webhook", n, url=receiver.url(), deal=f"d{n}") for n in range(5)]
        await produce_actions(sink_settings, "webhook", actions)
        events = await read_json(sink_settings, "events", at_least(5, "webhook.delivered"))
    assert receiver.bad_signatures == 0
    assert set(receiver.delivered) == {a["action_id"] for a in actions}
    assert receiver.bodies["a-webhook-3"]["data"] == {"deal": "d3"}
    assert receiver.bodies["a-webhook-3"]["contact_id"] == "c-3"
    delivered = {e["properties"]["action_id"]: e for e in events if e["type"] == "webhook.delivered"}
    assert set(delivered) == set(receiver.delivered)
    sample = delivered["a-webhook-2"]
    assert sample["event_id"] == "a-webhook-2:webhook.delivered"
    assert sample["key"] == sample["contact_id"] == "c-2"
    assert sample["properties"]["status"] == 200
    assert sample["properties"]["attempts"] == 1
    assert sample["properties"]["run_id"] == "run-2"


async def test_flaky_target_gets_every_action_exactly_once(sink_settings: SinkSettings) -> None:
    settings = sink_settings.with_(retry=RetryPolicy(max_attempts=25, base_delay_s=0.01, max_delay_s=0.05))
    count = 40
    async with serving(Receiver(fail_rate=0.5)) as receiver, running_sinks(settings, ["webhook"]):
        actions = [action("webhook", "webhook", n, url=receiver.url()) for n in range(count)]
        await produce_actions(settings, "webhook", actions)
        events = await read_json(settings, "events", at_least(count, "webhook.delivered"))
    assert set(receiver.delivered) == {a["action_id"] for a in actions}
    assert not receiver.repeats, "no action may reach the receiver again once delivered"
    assert receiver.failures > 0, "with a 50% failure rate some attempts must have failed"
    attempts = {e["properties"]["action_id"]: e["properties"]["attempts"] for e in events}
    # Each action took exactly as many attempts as the receiver saw requests for it.
    assert attempts == dict(receiver.requests)
    assert sum(attempts.values()) == count + receiver.failures


async def test_always_failing_target_ends_in_dlq_while_others_flow(sink_settings: SinkSettings) -> None:
    async with (
        serving(Receiver(always_status=500)) as broken,
        serving(Receiver()) as healthy,
        running_sinks(sink_settings, ["webhook"]) as service,
    ):
        doomed = action("webhook", "webhook", 0, contact="c-shared", url=broken.url())
        others = [action("webhook", "webhook", n, url=healthy.url()) for n in range(1, 11)]
        await produce_actions(sink_settings, "webhook", [doomed, *others])
        dlq = await read_json(sink_settings, "actions.dlq", at_least(1))
        events = await read_json(sink_settings, "events", at_least(11))
        counters = service.runners["webhook"].executor.counters
    assert len(dlq) == 1
    letter = dlq[0]
    assert letter["key"] == "c-shared"
    assert letter["action"]["action_id"] == "a-webhook-0"
    assert letter["attempts"] == sink_settings.retry.max_attempts == broken.requests["a-webhook-0"]
    assert "HTTP 500" in letter["error"]
    failed = [e for e in events if e["type"] == "webhook.failed"]
    assert [e["properties"]["action_id"] for e in failed] == ["a-webhook-0"]
    assert failed[0]["properties"]["status"] == 500
    assert set(healthy.delivered) == {a["action_id"] for a in others}
    assert counters.retries == sink_settings.retry.max_attempts - 1


async def test_4xx_is_final_but_429_is_retried_after_the_hint(sink_settings: SinkSettings) -> None:
    async with serving(Receiver(always_status=404)) as missing, running_sinks(sink_settings, ["webhook"]):
        await produce_actions(sink_settings, "webhook", [action("webhook", "webhook", 1, url=missing.url())])
        events = await read_json(sink_settings, "events", at_least(1, "webhook.failed"))
    assert missing.requests["a-webhook-1"] == 1
    assert events[0]["properties"]["attempts"] == 1
    slow = sink_settings.with_(retry=RetryPolicy(max_attempts=5, base_delay_s=30, max_delay_s=30))
    async with serving(Receiver(script=[429, 408, 503])) as busy, running_sinks(slow, ["webhook"]):
        await produce_actions(slow, "webhook", [action("webhook", "webhook", 2, url=busy.url())])
        events = await read_json(slow, "events", at_least(1, "webhook.delivered"), timeout=10)
    # Delivered on the 4th attempt within seconds: Retry-After: 0 replaced the 30 s backoff.
    assert [e["properties"]["attempts"] for e in events if e["type"] == "webhook.delivered"] == [4]


async def test_a_redelivered_action_is_not_sent_again(sink_settings: SinkSettings) -> None:
    async with serving(Receiver()) as receiver:
        first = action("webhook", "webhook", 7, url=receiver.url())
        async with running_sinks(sink_settings, ["webhook"]):
            await produce_actions(sink_settings, "webhook", [first])
            await read_json(sink_settings, "events", at_least(1))
        async with running_sinks(sink_settings, ["webhook"]) as service:
            await produce_actions(sink_settings, "webhook", [first])  # the worker re-emitted it after a crash
            events = await read_json(sink_settings, "events", at_least(2))
            await asyncio.sleep(0.2)
            duplicates = service.runners["webhook"].executor.counters.duplicates
    assert receiver.requests["a-webhook-7"] == 1
    assert duplicates == 1
    assert events[0] == events[1], "the re-emitted outcome is the same event, same id and time"


async def test_private_targets_are_refused_unless_allowed(sink_settings: SinkSettings) -> None:
    strict = sink_settings.with_(webhook=sink_settings.webhook.__class__(secret=SECRET, allow_private=False))
    async with serving(Receiver()) as receiver, running_sinks(strict, ["webhook"]):
        targets = [
            receiver.url(),
            f"http://localhost:{receiver.port}/x",
            "http://169.254.169.254/latest",
            "http://10.1.2.3/hook",
            "http://[::1]:8080/hook",
            "ftp://example.com/file",
        ]
        actions = [action("webhook", "webhook", n, url=url) for n, url in enumerate(targets)]
        await produce_actions(strict, "webhook", actions)
        events = await read_json(strict, "events", at_least(len(targets), "webhook.failed"))
    assert sum(receiver.requests.values()) == 0
    errors = {e["properties"]["action_id"]: e["properties"]["error"] for e in events}
    assert all(error.startswith("target refused") for error in errors.values()), errors
    # Generic texts: outcome events never name the internal address that was refused.
    assert errors["a-webhook-1"] == errors["a-webhook-2"] == "target refused: the address is not allowed"
    assert all(e["properties"]["attempts"] == 1 for e in events)


SSRF_CORPUS = [
    "127.1", "2130706433", "0177.0.0.1", "0x7f.0.0.1", "0x7f000001", "017700000001", "127.0.1",
    "0177.1", "0x7f.1", "10.1", "169.254.43518", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[::]", "0",
]  # fmt: skip


async def test_non_canonical_ip_literals_are_refused_permanently_without_retry(
    sink_settings: SinkSettings,
) -> None:
    strict = sink_settings.with_(
        webhook=sink_settings.webhook.__class__(secret=SECRET, allow_private=False),
        retry=RetryPolicy(max_attempts=5, base_delay_s=0.01, max_delay_s=0.02),
    )
    async with serving(Receiver()) as receiver, running_sinks(strict, ["webhook"]) as service:
        urls = [f"http://{host}:{receiver.port}/hook" for host in SSRF_CORPUS]
        actions = [action("webhook", "webhook", n, url=url) for n, url in enumerate(urls)]
        await produce_actions(strict, "webhook", actions)
        events = await read_json(strict, "events", at_least(len(urls), "webhook.failed"))
        counters = service.runners["webhook"].executor.counters
    assert sum(receiver.requests.values()) == 0
    assert len(events) == len(urls)
    for event in events:
        assert event["properties"]["attempts"] == 1, event  # permanent: 0 retries
        assert event["properties"]["error"] == "target refused: the address is not allowed", event
    assert counters.retries == 0


async def test_deliveries_verify_with_standardwebhooks_and_only_for_their_destination(
    sink_settings: SinkSettings,
) -> None:
    partner_secret = "whsec_" + base64.b64encode(b"switchyard-test-partner-key-0001").decode()
    async with serving(Receiver()) as default, serving(Receiver(secret=partner_secret)) as partner:
        hook = sink_settings.webhook
        settings = sink_settings.with_(webhook=hook.__class__(
            secret=f"{SECRET} {OLD_SECRET}", allow_private=True, connect_timeout_s=2, total_timeout_s=3,
            endpoints={"partner": partner.url("/in")}, endpoint_secrets={"partner": partner_secret},
        ))  # fmt: skip
        forged = {"Host": "evil.example", "Idempotency-Key": "forged", "webhook-id": "forged",
                  "Content-Length": "1", "Transfer-Encoding": "chunked", "X-Trace": "t-1"}  # fmt: skip
        async with running_sinks(settings, ["webhook"]):
            await produce_actions(settings, "webhook", [
                action("webhook", "webhook", 1, url=default.url(), headers=forged, deal="d1"),
                action("webhook", "webhook", 2, endpoint="partner", deal="d2"),
            ])  # fmt: skip
            await read_json(settings, "events", at_least(2, "webhook.delivered"))
    assert default.bad_signatures == partner.bad_signatures == 0
    body, headers = default.raw["a-webhook-1"]
    # As a receiver would: the off-the-shelf verifier with the destination's secret (either during rotation).
    assert Webhook(SECRET).verify(body, headers)["data"] == {"deal": "d1"}
    assert Webhook(OLD_SECRET).verify(body, headers)["id"] == "a-webhook-1"
    assert headers["webhook-id"] == headers["Idempotency-Key"] == "a-webhook-1"  # params cannot forge them
    assert headers["Host"] == f"127.0.0.1:{default.port}" and headers["X-Trace"] == "t-1"
    with pytest.raises(WebhookVerificationError):  # a replay under another id
        Webhook(SECRET).verify(body, {**headers, "webhook-id": "a-webhook-9"})
    partner_body, partner_headers = partner.raw["a-webhook-2"]
    assert Webhook(partner_secret).verify(partner_body, partner_headers)["data"] == {"deal": "d2"}
    with pytest.raises(WebhookVerificationError):  # signed for the partner: not valid for the default target
        Webhook(SECRET).verify(partner_body, partner_headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(CRM_SECRET).verify(body, headers)
