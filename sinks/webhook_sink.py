"""The webhook channel: POST the action as signed JSON to ``params.url`` (or a named endpoint).

Body: ``{"id": action_id, "type", "contact_id", "workflow_id", "version", "run_id", "node_id", "ts",
"data": ...}`` where ``data`` is ``params.payload`` if given, else the params without url/endpoint/headers.
``params.endpoint`` names an entry of SWITCHYARD_WEBHOOK_ENDPOINTS; a ``url`` that is such a name works too.
Requests are signed (sinks/signing.py) with the named endpoint's own secrets if it has some, else with the
channel's (SWITCHYARD_WEBHOOK_SECRET). Params' headers never replace the headers the sender owns.
"""

from __future__ import annotations

from typing import Any

from sinks.address_guard import AddressGuard
from sinks.exceptions import PermanentFailure
from sinks.http_delivery import HttpDelivery
from sinks.records import Action, Delivery, OutcomeEvent
from sinks.settings import SinkSettings
from sinks.signing import allowed_header

ROUTING_PARAMS = frozenset({"url", "endpoint", "headers", "payload"})


def webhook_body(action: Action) -> dict[str, Any]:
    params = action.params
    data = (
        params["payload"]
        if "payload" in params
        else {key: value for key, value in params.items() if key not in ROUTING_PARAMS}
    )
    raw = action.raw
    return {
        "id": action.action_id,
        "type": action.type,
        "contact_id": action.contact_id,
        "workflow_id": raw.get("workflow_id"),
        "version": raw.get("version"),
        "run_id": raw.get("run_id"),
        "node_id": raw.get("node_id"),
        "ts": raw.get("ts"),
        "data": data,
    }


def target_url(params: dict[str, Any], endpoints: dict[str, str] | Any) -> str:
    return target(params, endpoints)[0]


def target(params: dict[str, Any], endpoints: dict[str, str] | Any) -> tuple[str, str]:
    """The URL to call, and the destination whose secrets sign it."""
    endpoint = params.get("endpoint")
    if isinstance(endpoint, str):
        if endpoint not in endpoints:
            raise PermanentFailure(f"unknown webhook endpoint {endpoint!r}")
        return str(endpoints[endpoint]), f"endpoint:{endpoint}"
    url = params.get("url")
    if not isinstance(url, str) or not url:
        raise PermanentFailure("webhook action has no url")
    if url in endpoints:
        return str(endpoints[url]), f"endpoint:{url}"
    return url, "webhook"


def extra_headers(params: dict[str, Any]) -> dict[str, str]:
    """The workflow's own headers: not the reserved ones, and none with a control character in its name or
    value (a line break would end the header: the HTTP client refuses it)."""
    headers = params.get("headers")
    if not isinstance(headers, dict):
        return {}
    out = {str(k): str(v) for k, v in headers.items() if allowed_header(str(k))}
    broken = sorted(k for k, v in out.items() if any(ord(ch) < 32 or ord(ch) == 127 for ch in k + v))
    if broken:
        raise PermanentFailure(f"webhook header(s) {', '.join(map(repr, broken))} hold a control character")
    return out


class WebhookHandler:
    channel = "webhook"

    def __init__(self, settings: SinkSettings) -> None:
        self.settings = settings
        self.hook = settings.webhook
        self.clients: dict[str, HttpDelivery] = {}  # one per destination (its own secrets)
        self.guard = AddressGuard(self.hook.allow_hosts, self.hook.allow_private)

    async def start(self) -> None:
        self.settings.require_secrets("webhook", "SWITCHYARD_WEBHOOK_SECRET")
        for destination in ["webhook", *(f"endpoint:{name}" for name in self.hook.endpoints)]:
            secrets = self.settings.secrets_for(destination)
            self.clients[destination] = await HttpDelivery.for_hook(self.hook, secrets, self.guard)

    async def close(self) -> None:
        for client in self.clients.values():
            await client.close()

    async def handle(self, action: Action, attempt: int) -> Delivery:
        url, destination = target(action.params, self.hook.endpoints)
        answer = await self.clients[destination].post_json(
            url, webhook_body(action), action.action_id, extra_headers(action.params)
        )
        # a named endpoint's URL is the operator's (it may carry a token): the outcome names the endpoint
        where = (
            {"endpoint": destination.removeprefix("endpoint:")} if destination != "webhook" else {"url": url}
        )
        return Delivery([OutcomeEvent("webhook.delivered", {"status": answer.status, **where})])
