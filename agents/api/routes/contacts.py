"""GET /v1/contacts/{id}: the contact's state from the contacts table's changelog (what the worker has
durably written, whichever worker owns the contact), and its recent step records from `analytics`.

Only the partition the contact's key maps to is read, in both topics; step records come packed
(engine/packing.py), so the contact's are picked out by their `contact_id`.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from agents.api.contact_view import contact_json
from agents.api.context import context_of
from agents.api.http import json_response
from engine.packing import unpack


async def get_contact(request: web.Request) -> web.Response:
    ctx = context_of(request)
    contact_id = request.match_info["id"]
    key = contact_id.encode()
    partition = ctx.partition_of(key)
    state = await ctx.contact_state(contact_id)
    steps: list[dict[str, Any]] = [
        step
        for record in await ctx.kafka.read(ctx.analytics_topic, partition)
        if record.value is not None
        for step in unpack(record.value)
        if isinstance(step, dict) and step.get("contact_id") == contact_id
    ]
    source = f"changelog:{ctx.contacts_changelog}/{partition}"
    return json_response(contact_json(contact_id, state, steps, source))


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/v1/contacts/{id}", get_contact)
