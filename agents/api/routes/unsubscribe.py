"""One-click unsubscribe (RFC 8058): `POST /v1/unsubscribe?c=<contact>&ch=<channel>&t=<token>` with the form
body `List-Unsubscribe=One-Click`, as mail providers send it from the `List-Unsubscribe-Post` header of a
marketing email. The token is the signed one engine.links makes (the same SWITCHYARD_UNSUBSCRIBE_SECRET
as the email sink); a valid request produces an `unsubscribed` event for that channel into `events`, and
engine.consent then suppresses marketing sends in every workflow. GET shows a page with the same button
and changes nothing (link scanners follow GETs)."""

from __future__ import annotations

from html import escape

from aiohttp import web

from agents.api.context import context_of
from agents.api.exceptions import ApiError
from engine.actions import CONTACT_CHANNELS
from engine.links import valid_unsubscribe_token

ONE_CLICK = "One-Click"


def _checked(request: web.Request) -> tuple[str, str, str]:
    secret = context_of(request).config.unsubscribe_secret
    if not secret:
        raise ApiError(404, "unsubscribe_off", "set SWITCHYARD_UNSUBSCRIBE_SECRET to serve unsubscribe links")
    contact, channel, token = (request.query.get(name, "") for name in ("c", "ch", "t"))
    if not contact or channel not in CONTACT_CHANNELS or not token:
        raise ApiError(400, "bad_link", "the link needs c (contact), ch (email, sms or push) and t (token)")
    if not valid_unsubscribe_token(secret, contact, channel, token):
        raise ApiError(403, "bad_token", "this unsubscribe link is not valid")
    return contact, channel, token


def _page(text: str, form: bool = False, status: int = 200) -> web.Response:
    button = (
        '<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<button type="submit">Unsubscribe</button></form>'
        if form
        else ""
    )
    html = f"<!doctype html><meta charset=utf-8><title>Unsubscribe</title><p>{escape(text)}</p>{button}"
    return web.Response(text=html, content_type="text/html", status=status)


async def show(request: web.Request) -> web.Response:
    _, channel, _ = _checked(request)
    return _page(f"Stop receiving marketing {channel} from us?", form=True)


async def unsubscribe(request: web.Request) -> web.Response:
    contact, channel, _ = _checked(request)
    form = await request.post()
    if form.get("List-Unsubscribe") != ONE_CLICK:
        raise ApiError(400, "not_one_click", "the body must be List-Unsubscribe=One-Click (RFC 8058)")
    ctx = context_of(request)
    now = ctx.clock()
    event = {"event_id": f"unsubscribe-{channel}-{now}", "contact_id": contact, "type": "unsubscribed",
             "ts": now, "properties": {"channel": channel, "source": "one_click"}}  # fmt: skip
    await ctx.kafka.send_events(ctx.events_topic, [event])  # type: ignore[list-item]
    return _page(f"You will no longer receive marketing {channel} from us.")


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/v1/unsubscribe", show)
    router.add_post("/v1/unsubscribe", unsubscribe)
