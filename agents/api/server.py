"""register_api: put the /v1 routes, /healthz, the middleware (the one door: agents/api/http.py) and /ui/
on the worker's Faust web server (aiohttp).

Faust creates its aiohttp Application lazily and calls `app.on_webserver_init(web)` before the server
starts; the routes are added there, so a worker with the web port off never builds them.
"""

from __future__ import annotations

from typing import Any

import faust

from agents.api.config import ApiConfig
from agents.api.context import CONTEXT, ApiContext
from agents.api.http import api_middleware, healthz
from agents.api.kafka_io import KafkaGateway
from agents.api.routes import (
    conditions,
    contacts,
    docs,
    events,
    hooks,
    message_templates,
    policy,
    recommendations,
    seen,
    segment,
    stats,
    test_send,
    trials,
    unsubscribe,
    workflows,
)
from agents.definitions import DefinitionCache
from agents.settings import Settings
from agents.topics import ANALYTICS, EVENTS, EVENTS_DLQ, RECOMMENDATIONS, WORKFLOWS
from tables.contacts import CONTACTS_TABLE


def register_api(app: faust.App, settings: Settings, definitions: DefinitionCache, config: ApiConfig) -> None:
    context = ApiContext(
        config=config,
        definitions=definitions,
        kafka=KafkaGateway(settings.bootstrap),
        events_topic=settings.topic(EVENTS),
        workflows_topic=settings.topic(WORKFLOWS),
        analytics_topic=settings.topic(ANALYTICS),
        contacts_changelog=f"{settings.app_id}-{CONTACTS_TABLE}-changelog",
        partitions=settings.partitions,
        max_event_bytes=settings.max_event_bytes,
        dead_letter_topic=settings.topic(EVENTS_DLQ),
        recommendations_topic=settings.topic(RECOMMENDATIONS),
    )

    def on_webserver_init(web: Any) -> None:
        aiohttp_app = web.web_app
        aiohttp_app[CONTEXT] = context
        aiohttp_app.middlewares.append(api_middleware(config))
        aiohttp_app.router.add_get("/healthz", healthz)
        routes = (events, workflows, policy, trials, contacts, stats, recommendations, docs, segment, hooks,
                  unsubscribe, conditions, seen, message_templates, test_send)  # fmt: skip
        for module in routes:
            module.add_routes(aiohttp_app.router)

        async def stop_producer(_: Any) -> None:
            await context.kafka.stop()

        aiohttp_app.on_cleanup.append(stop_producer)

    setattr(app, "on_webserver_init", on_webserver_init)  # noqa: B010 - Faust's hook is a method
