"""SMS and push: the provider interface, and the one provider we ship, which POSTs each message as JSON
to a configured HTTP endpoint with bearer authentication (SWITCHYARD_SMS_URL / _TOKEN, SWITCHYARD_PUSH_URL /
_TOKEN). Without a provider the channel refuses to start: a message is never reported sent unsent."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from sinks.exceptions import PermanentFailure, SinkConfigError
from sinks.http_delivery import HttpDelivery
from sinks.records import Action, Delivery, OutcomeEvent
from sinks.settings import ProviderSettings, SinkSettings
from sinks.template_files import TemplateFiles, action_context


@dataclass(frozen=True)
class OutboundMessage:
    kind: str  # "sms" or "push"
    message_id: str  # the action id: providers use it to drop repeats
    contact_id: str
    to: str | None  # phone number or device token; None lets the provider look the contact up
    body: str
    title: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


class MessageProvider(Protocol):
    async def start(self) -> None: ...

    async def send(self, message: OutboundMessage) -> str | None:
        """Send; return the provider's message id if it gives one. Raises Retryable/PermanentFailure."""
        ...

    async def close(self) -> None: ...


class HttpMessageProvider:
    def __init__(self, settings: ProviderSettings, connect_timeout_s: float, total_timeout_s: float) -> None:
        self.settings = settings
        self.http = HttpDelivery(connect_timeout_s, total_timeout_s)

    async def start(self) -> None:
        await self.http.start()

    async def close(self) -> None:
        await self.http.close()

    async def send(self, message: OutboundMessage) -> str | None:
        headers = {"Authorization": f"Bearer {self.settings.token}"} if self.settings.token else {}
        payload = {
            "kind": message.kind,
            "id": message.message_id,
            "contact_id": message.contact_id,
            "to": message.to,
            "title": message.title,
            "body": message.body,
            "data": message.data,
        }
        answer = await self.http.post_json(self.settings.url, payload, message.message_id, headers)
        reply = answer.json()
        provider_id = reply.get("id") if isinstance(reply, dict) else None
        return provider_id if isinstance(provider_id, str) else None


class MessagingHandler:
    """The sms or push channel, over a MessageProvider."""

    def __init__(self, channel: str, provider: MessageProvider | None, templates: TemplateFiles) -> None:
        self.channel = channel
        self.provider = provider
        self.templates = templates

    async def start(self) -> None:
        if self.provider is None:
            kind = self.channel.upper()
            setting = f"SWITCHYARD_{kind}_URL (and SWITCHYARD_{kind}_TOKEN)"
            raise SinkConfigError(f"{self.channel}: no provider configured: set {setting}")
        await self.provider.start()

    async def close(self) -> None:
        if self.provider is not None:
            await self.provider.close()

    def message(self, action: Action) -> OutboundMessage:
        params = action.params
        body = params.get("body")
        name = params.get("template")
        if isinstance(name, str) and name:
            body = self.templates.render(name, ".txt", action_context(action))
            if body is None:
                raise PermanentFailure(f"no template {name}.txt in {self.templates.directory}")
        if not isinstance(body, str):
            body = ""
        title = params.get("title")
        if self.channel == "sms" and not body:
            raise PermanentFailure("sms has no body")
        to = params.get("to") or params.get("phone") or params.get("device")
        data = params.get("data")
        return OutboundMessage(
            self.channel,
            action.action_id,
            action.contact_id,
            to if isinstance(to, str) else None,
            body,
            title if isinstance(title, str) else None,
            data if isinstance(data, dict) else {},
        )

    async def handle(self, action: Action, attempt: int) -> Delivery:
        assert self.provider is not None
        message = self.message(action)
        provider_id = await self.provider.send(message)
        return Delivery(
            [OutcomeEvent(f"{self.channel}.sent", {"to": message.to, "provider_id": provider_id})]
        )


def http_provider(settings: SinkSettings, channel: str) -> MessageProvider | None:
    configured = settings.sms if channel == "sms" else settings.push
    if configured is None:
        return None
    return HttpMessageProvider(
        configured, settings.webhook.connect_timeout_s, settings.webhook.total_timeout_s
    )
