"""The Segment-compatible tracking API: /v1/track, /v1/identify, /v1/page, /v1/screen, /v1/group,
/v1/alias and /v1/batch, so Segment's and RudderStack's SDKs can send to a worker (mapping: agents/api/
segment.py).

Authentication is the source's write key, as those SDKs send it: HTTP Basic with the key as the user name
(or `writeKey` in the body). Answers follow Segment's: 400 for a body that is not JSON or is over the size
limits, else 200 `{"success": true}`. A message that cannot become an event is refused with its reason
(400 on a single call; listed under `rejected` in a batch's 200, so one bad message does not cost the
others) and kept in the events dead-letter topic. Events go to Kafka keyed by contact, like /v1/events.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Any

import orjson
from aiohttp import web

from agents.api.context import ApiContext, context_of
from agents.api.exceptions import ApiError
from agents.api.http import json_response, read_body
from agents.api.ingest import check_events, encoded_size
from agents.api.refusals import dead_letter
from agents.api.segment import MAX_BATCH_BYTES, MAX_MESSAGE_BYTES, Alias, merged_attributes, to_event
from engine.events import Malformed
from engine.types import Event

SINGLE_CALLS = ("track", "identify", "page", "screen", "group", "alias")
SOURCE = "api:segment"
# An alias reads both contacts' stored states (a read of their changelog partitions each): a request may
# carry this many; the rest of a batch's aliases are refused, each on its own, to be sent again.
MAX_ALIASES_PER_REQUEST = 4  # an SDK sends one when a visitor signs up: rarely two in a batch


def write_key_of(request: web.Request, body: Any) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Basic "):
        try:
            user, _, _ = base64.b64decode(header[6:], validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return user
    found = body.get("writeKey") if isinstance(body, dict) else None
    return found if isinstance(found, str) else None


def check_write_key(ctx: ApiContext, key: str | None) -> None:
    keys = ctx.config.segment_write_keys
    if not keys:
        raise ApiError(401, "segment_off", "no write key is configured: set SWITCHYARD_SEGMENT_WRITE_KEYS")
    if not key:
        raise ApiError(401, "unauthorized", "send the write key as HTTP Basic user name")
    if not any(hmac.compare_digest(key.encode(), known.encode()) for known in keys):
        raise ApiError(401, "unauthorized", "the write key is not valid")


async def read_segment_body(request: web.Request, limit: int) -> Any:
    try:
        raw = await read_body(request, limit)
    except ApiError as exc:
        if exc.status == 413:  # Segment answers 400 for a payload over its limits
            raise ApiError(400, "too_large", f"{exc.message} (Segment's limit)") from None
        raise
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, "not_json", f"the body is not JSON: {exc}") from None


class Intake:
    """The events a request produces, in order, and what it refused."""

    def __init__(self, ctx: ApiContext) -> None:
        self.ctx = ctx
        self.limits = ctx.event_limits()
        self.events: list[Event] = []
        self.rejected: list[dict[str, Any]] = []
        self.aliases = 0

    async def take(self, index: int, message: Any, kind: str | None) -> None:
        mapped = to_event(message, kind, self.ctx.clock())
        if isinstance(mapped, Malformed):
            await self._refuse(index, message, mapped.reason, mapped.detail)
            return
        if isinstance(mapped, Alias):
            self.aliases += 1
            if self.aliases > MAX_ALIASES_PER_REQUEST:
                detail = f"at most {MAX_ALIASES_PER_REQUEST} alias calls a request: send this one again"
                await self._refuse(index, message, "too_many_aliases", detail)
                return
            documents = await self._alias(mapped)
        else:
            documents = [mapped]
        events, errors = check_events(documents, self.limits)
        if errors:
            await self._refuse(index, message, errors[0]["reason"], errors[0]["detail"])
            return
        self.events.extend(events)

    async def _alias(self, alias: Alias) -> list[dict[str, Any]]:
        """The anonymous contact merged into the known one: the known contact gets the attributes it does
        not have yet and a `contact.aliased` event; the anonymous one a `contact.merged` event."""
        anonymous = await self.ctx.contact_state(alias.previous_id)
        known = await self.ctx.contact_state(alias.contact_id)

        def attrs(state: Any) -> dict[str, Any]:
            return dict(((state or {}).get("profile") or {}).get("attrs") or {})

        added = merged_attributes(attrs(anonymous), attrs(known))
        out = []
        if added:
            out.append({"event_id": f"{alias.event_id}:attributes", "contact_id": alias.contact_id,
                        "type": "contact.updated", "ts": alias.ts, "properties": added})  # fmt: skip
        out.append({"event_id": alias.event_id, "contact_id": alias.contact_id, "type": "contact.aliased",
                    "ts": alias.ts, "properties": {"previous_id": alias.previous_id}})  # fmt: skip
        out.append({"event_id": f"{alias.event_id}:merged", "contact_id": alias.previous_id,
                    "type": "contact.merged", "ts": alias.ts,
                    "properties": {"into": alias.contact_id}})  # fmt: skip
        return out

    async def _refuse(self, index: int, message: Any, reason: str, detail: str) -> None:
        self.rejected.append({"index": index, "reason": reason, "detail": detail})
        contact = None
        if isinstance(message, dict):
            found = message.get("userId") or message.get("anonymousId")
            contact = str(found) if isinstance(found, str | int) else None
        await dead_letter(self.ctx, contact, as_bytes(message), reason, detail, SOURCE)


def as_bytes(message: Any) -> bytes:
    """A refused message's bytes for its dead letter (one JSON cannot write back: its Python form, cut)."""
    try:
        return orjson.dumps(message)
    except orjson.JSONEncodeError:
        return repr(message)[:MAX_MESSAGE_BYTES].encode("utf-8", "replace")


def single_call(kind: str) -> Any:
    async def handler(request: web.Request) -> web.Response:
        ctx = context_of(request)
        body = await read_segment_body(request, MAX_MESSAGE_BYTES)
        check_write_key(ctx, write_key_of(request, body))
        intake = Intake(ctx)
        await intake.take(0, body, kind)
        if intake.rejected:
            problem = intake.rejected[0]
            raise ApiError(400, problem["reason"], problem["detail"])
        await ctx.kafka.send_events(ctx.events_topic, intake.events)
        return json_response({"success": True})

    return handler


async def post_batch(request: web.Request) -> web.Response:
    ctx = context_of(request)
    body = await read_segment_body(request, MAX_BATCH_BYTES)
    check_write_key(ctx, write_key_of(request, body))
    messages = body.get("batch") if isinstance(body, dict) else None
    if not isinstance(messages, list):
        raise ApiError(400, "bad_body", 'a batch is {"batch": [message, ...]}')
    sizes = [encoded_size(m) for m in messages]  # one nested too deep to write is rejected on its own below
    oversized = [i for i, size in enumerate(sizes) if isinstance(size, int) and size > MAX_MESSAGE_BYTES]
    if oversized:
        raise ApiError(400, "message_too_large", f"messages over {MAX_MESSAGE_BYTES} bytes", oversized)
    intake = Intake(ctx)
    for index, message in enumerate(messages):
        await intake.take(index, message, None)
    await ctx.kafka.send_events(ctx.events_topic, intake.events)
    return json_response({"success": True, "accepted": len(intake.events), "rejected": intake.rejected})


def add_routes(router: web.UrlDispatcher) -> None:
    for kind in SINGLE_CALLS:
        router.add_post(f"/v1/{kind}", single_call(kind))
    router.add_post("/v1/batch", post_batch)
