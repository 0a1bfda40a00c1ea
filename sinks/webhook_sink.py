"""The webhook channel: POST the action as signed JSON to ``params.url`` (or a named endpoint).

Body: ``{"id": action_id, "type", "contact_id", "workflow_id", "version", "run_id", "node_id", "ts",
"data": ...}`` where ``data`` is ``params.payload`` if given, else the params without url/endpoint/headers.
``params.endpoint`` names an entry of SWITCHYARD_WEBHOOK_ENDPOINTS; a ``url`` that is such a name works too.
"""

from __future__ import annotations

from typing import Any

from sinks.address_guard import AddressGuard
from sinks.exceptions import PermanentFailure, SinkConfigError
from sinks.http_delivery import HttpDelivery
from sinks.records import Action, Delivery, OutcomeEvent
from sinks.settings import WebhookSettings

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
    endpoint = params.get("endpoint")
    if isinstance(endpoint, str):
        if endpoint not in endpoints:
            raise PermanentFailure(f"unknown webhook endpoint {endpoint!r}")
        return str(endpoints[endpoint])
    url = params.get("url")
    if not isinstance(url, str) or not url:
        raise PermanentFailure("webhook action has no url")
    return str(endpoints.get(url, url))


def extra_headers(params: dict[str, Any]) -> dict[str, str]:
    headers = params.get("headers")
    if not isinstance(headers, dict):
        return {}
    return {str(k): str(v) for k, v in headers.items() if not str(k).lower().startswith("x-switchyard-")}


class WebhookHandler:
    channel = "webhook"

    def __init__(self, settings: WebhookSettings) -> None:
        self.settings = settings
        self.http: HttpDelivery | None = None

    async def start(self) -> None:
        if not self.settings.secret:
            raise SinkConfigError("webhook: no signing secret: set SWITCHYARD_WEBHOOK_SECRET")
        guard = AddressGuard(self.settings.allow_hosts, self.settings.allow_private)
        self.http = HttpDelivery(
            self.settings.connect_timeout_s, self.settings.total_timeout_s, self.settings.secret, guard
        )
        await self.http.start()

    async def close(self) -> None:
        if self.http is not None:
            await self.http.close()

    async def handle(self, action: Action, attempt: int) -> Delivery:
        assert self.http is not None
        url = target_url(action.params, self.settings.endpoints)
        answer = await self.http.post_json(
            url, webhook_body(action), action.action_id, extra_headers(action.params)
        )
        return Delivery([OutcomeEvent("webhook.delivered", {"status": answer.status, "url": url})])
