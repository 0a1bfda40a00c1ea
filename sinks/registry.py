"""Which handler serves which channel, built from the settings (and the channel's store)."""

from __future__ import annotations

from collections.abc import Callable

from sinks.crm_sink import CrmHandler
from sinks.document_sink import DocumentHandler
from sinks.email_sink import EmailHandler
from sinks.handler import ChannelHandler
from sinks.messaging import MessagingHandler, http_provider
from sinks.notify_sink import NotifyHandler
from sinks.settings import SinkSettings
from sinks.store import SinkStore
from sinks.task_sink import TaskHandler
from sinks.teams import RoundRobin
from sinks.template_files import TemplateFiles
from sinks.webhook_sink import WebhookHandler

HandlerFactory = Callable[[SinkSettings, SinkStore], ChannelHandler]


def _templates(settings: SinkSettings) -> TemplateFiles:
    return TemplateFiles(settings.templates_dir)


FACTORIES: dict[str, HandlerFactory] = {
    "webhook": lambda settings, store: WebhookHandler(settings),
    "email": lambda settings, store: EmailHandler(
        settings.smtp, _templates(settings), settings.unsubscribe_url, settings.unsubscribe_secret
    ),
    "sms": lambda settings, store: MessagingHandler(
        "sms", http_provider(settings, "sms"), _templates(settings)
    ),
    "push": lambda settings, store: MessagingHandler(
        "push", http_provider(settings, "push"), _templates(settings)
    ),
    "task": lambda settings, store: TaskHandler(RoundRobin(settings.teams, store)),
    "notify": lambda settings, store: NotifyHandler(settings),
    "crm": lambda settings, store: CrmHandler(settings),
    "document": lambda settings, store: DocumentHandler(settings, _templates(settings), store),
}


def build_handler(channel: str, settings: SinkSettings, store: SinkStore) -> ChannelHandler:
    return FACTORIES[channel](settings, store)
