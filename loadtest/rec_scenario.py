"""The recommendations benchmark's world: workflows with real deficiencies, and how contacts respond to
what those workflows send, drawn from the behaviour generator's latent traits.

Workflows (purpose-built; each deficiency is one a recommendation kind should find):
- ``rb_welcome`` (contact.added): a fixed 1 h wait, the welcome email, a fixed 2 d wait, a tips email with
  a weak subject and call to action;
- ``rb_cart`` (cart.created, one run per cart): a split with a 20 % holdout between a plain reminder and
  a discount reminder, then up to 3 d for the purchase of that cart (the goal);
- ``rb_thanks`` (purchase, mid-life: the contact has a history by then): a fixed 1 d wait, a thank-you;
- ``rb_promo`` (list.joined): a ``send_best`` on email, sms or push (the bandit explores and learns);
- ``rb_news`` (list.joined): the same audience on a fixed ``send_email``;
- ``rb_sms`` (list.joined): the same audience on a fixed ``send_sms``;
- ``rb_demo`` (list.joined): waits for a ``demo.booked`` event that nothing ever sends (a dead goal).

Ground truth of a send (``respond``), from the contact's traits (loadtest.truth.Traits), its segment (its
region) and the send's local hour. Every draw is keyed by (seed, the send's ``draw_key``, what): the key
names the send without the workflow version (rec_world: workflow, contact, node, cart, how many times
that node sent to the contact), so the original and a draft replayed on the same traffic share their luck
(common random numbers): a send whose open probability rises opens whenever the original's did.

- attention at the send hour: ``0.4 + 0.6 x affinity(hour) / peak`` for email and push (the generator's
  hour-of-week affinity is its documented response curve; a mail sent at a dead hour is still seen, less
  often), ``0.7 + 0.3 x ...`` for sms (read whenever it arrives);
- opened (email, push) with ``OPEN_BASE[channel] x CHANNEL_FIT[segment][channel] x QUALITY[template] x
  (0.3 + 0.7 x engage) x attention``; an sms is not "opened";
- clicked: for email and push after an open with ``CLICK_BASE x QUALITY x (0.3 + 0.7 x engage)``, for sms
  with ``SMS_CLICK x CHANNEL_FIT x (0.3 + 0.7 x engage) x attention``;
- a reminder that is opened recovers a cart the contact would not have bought anyway with
  ``RECOVERY[offer] x (0.3 + 0.7 x convert)``: a ``purchase`` of that cart 1 to 48 h later.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, NamedTuple

from engine.durations import HOUR, MINUTE, SECOND
from engine.types import Event
from loadtest.truth import Traits
from ml.clock import hour_of_week

OPEN_BASE = {"email": 0.5, "push": 0.4}
CLICK_BASE = 0.35
SMS_CLICK = 0.3
# how well each channel reaches a segment (the contact's region): no channel is best everywhere
CHANNEL_FIT: dict[str, dict[str, float]] = {
    "emea": {"email": 1.0, "sms": 0.4, "push": 0.5},
    "na": {"email": 0.45, "sms": 1.0, "push": 0.6},
    "latam": {"email": 0.7, "sms": 0.8, "push": 0.6},
    "apac": {"email": 0.4, "sms": 0.5, "push": 1.0},
}
# (open, click) quality of a message by template; an unknown template is ordinary (1, 1)
QUALITY: dict[str, tuple[float, float]] = {"tips": (0.55, 0.5)}
RECOVERY = {"plain": 0.1, "discount": 0.7}  # chance that an opened reminder brings the purchase
PHONE_SHARE, PUSH_SHARE = 0.85, 0.75  # contacts with a phone number, with a push token


def _email(template: str, subject: str, **extra: Any) -> dict[str, Any]:
    return {"type": "action", "action": "send_email", "params": {"template": template, "subject": subject,
                                                                 **extra}}  # fmt: skip


def workflows() -> list[dict[str, Any]]:
    """The scenario's workflow definitions, version 1, published."""
    cart = "{{ run.vars.cart_id }}"
    return [
        {"id": "rb_welcome", "version": 1, "status": "published", "trigger": {"event": "contact.added"},
         "start": "wait_1h", "nodes": {
            "wait_1h": {"type": "wait", "duration": "1h", "next": "welcome"},
            "welcome": {**_email("welcome", "Welcome aboard"), "next": "wait_2d"},
            "wait_2d": {"type": "wait", "duration": "2d", "next": "tips"},
            "tips": _email("tips", "Some tips"),
        }},
        {"id": "rb_cart", "version": 1, "status": "published", "trigger": {"event": "cart.created"},
         "settings": {"reentry": "always", "run_key": "cart_id"}, "start": "split", "nodes": {
            "split": {"type": "split", "holdout": 20, "arms": [
                {"name": "plain", "weight": 40, "next": "plain_mail"},
                {"name": "discount", "weight": 40, "next": "discount_mail"}]},
            "plain_mail": {**_email("cart_plain", "Your cart", cart_id=cart, offer="plain"),
                           "next": "wait_buy"},
            "discount_mail": {**_email("cart_discount", "10% off your cart", cart_id=cart, offer="discount"),
                              "next": "wait_buy"},
            "wait_buy": {"type": "wait_for", "event": "purchase", "key": "cart_id", "timeout": "3d",
                         "on_event": "bought", "on_timeout": "lost"},
            "bought": {"type": "goal", "event": "purchase"},
            "lost": {"type": "exit", "reason": "not bought"},
        }},
        {"id": "rb_thanks", "version": 1, "status": "published", "trigger": {"event": "purchase"},
         "start": "wait_1d", "nodes": {
            "wait_1d": {"type": "wait", "duration": "1d", "next": "thanks"},
            "thanks": _email("thanks", "Thank you"),
        }},
        {"id": "rb_promo", "version": 1, "status": "published", "trigger": {"event": "list.joined"},
         "start": "promo", "nodes": {
            "promo": {"type": "action", "action": "send_best", "params": {"messages": {
                "email": {"template": "promo", "subject": "Picked for you"},
                "sms": {"template": "promo", "body": "Picked for you"},
                "push": {"template": "promo", "title": "Picked for you"}}}},
        }},
        {"id": "rb_news", "version": 1, "status": "published", "trigger": {"event": "list.joined"},
         "start": "news", "nodes": {"news": _email("news", "This week")}},
        {"id": "rb_sms", "version": 1, "status": "published", "trigger": {"event": "list.joined"},
         "start": "text", "nodes": {"text": {"type": "action", "action": "send_sms",
                                             "params": {"template": "news_sms", "body": "This week"}}}},
        {"id": "rb_demo", "version": 1, "status": "published", "trigger": {"event": "list.joined"},
         "start": "wait_demo", "nodes": {
            "wait_demo": {"type": "wait_for", "event": "demo.booked", "timeout": "5d", "on_event": "booked",
                          "on_timeout": "gave_up"},
            "booked": {"type": "goal", "event": "demo.booked"},
            "gave_up": {"type": "exit", "reason": "no demo"},
        }},
    ]  # fmt: skip


def unit(seed: int, *parts: object) -> float:
    """A uniform draw in [0, 1) keyed by its parts (stable across processes and runs)."""
    raw = hashlib.blake2b("\x1f".join(map(str, (seed, *parts))).encode(), digest_size=8).digest()
    return int.from_bytes(raw, "big") / 2**64


def enrich(event: Event, seed: int) -> Event:
    """A generated contact.added with the scenario's addresses and segment (its region); others as given."""
    if event["type"] != "contact.added":
        return event
    contact = event["contact_id"]
    props = dict(event["properties"])
    props["segment"] = REGIONS.get(str(props.get("country")), "emea")
    if unit(seed, contact, "phone") < PHONE_SHARE:
        props["phone"] = f"+1555{int(unit(seed, contact, 'number') * 10**7):07d}"
    if unit(seed, contact, "push") < PUSH_SHARE:
        props["push_token"] = f"tok-{contact}"
    return {**event, "properties": props}


REGIONS = {"DE": "emea", "FR": "emea", "GB": "emea", "US": "na", "BR": "latam", "IN": "apac", "JP": "apac",
           "AU": "apac"}  # fmt: skip


class Response(NamedTuple):
    """What one send led to, by ground truth, and the events that tell it (time-stamped)."""

    opened: bool
    clicked: bool
    recovered: bool  # a cart purchase the send brought about
    p_open: float  # the ground-truth probability of the open (0 for sms)
    events: list[Event]


def attention(traits: Traits, ts: int, channel: str) -> float:
    relative = traits.affinity(hour_of_week(ts, traits.timezone) + 0.5) / traits.peak_affinity()
    return (0.7 + 0.3 * relative) if channel == "sms" else (0.4 + 0.6 * relative)


def respond(
    seed: int, action: Mapping[str, Any], draw_key: tuple[object, ...], traits: Traits, segment: str,
    bought_anyway: bool,
) -> Response:  # fmt: skip
    """The ground-truth response to one send action; ``bought_anyway``: the contact buys this cart
    without help (the generator's own purchase)."""
    channel, ts = str(action["channel"]), int(action["ts"])
    params: Mapping[str, Any] = action.get("params") or {}
    key = draw_key
    quality_open, quality_click = QUALITY.get(str(params.get("template")), (1.0, 1.0))
    fit = CHANNEL_FIT.get(segment, CHANNEL_FIT["emea"]).get(channel, 0.0)
    engaged = 0.3 + 0.7 * traits.engage
    seen = attention(traits, ts, channel)
    events: list[Event] = []
    if channel == "sms":
        p_open, opened, open_at = 0.0, False, ts
        clicked = unit(seed, *key, "click") < min(1.0, SMS_CLICK * fit * engaged * seen)
        click_at = ts + int(unit(seed, *key, "click_at") * 2 * HOUR) + 30 * SECOND
    else:
        p_open = min(1.0, OPEN_BASE.get(channel, 0.0) * fit * quality_open * engaged * seen)
        opened = unit(seed, *key, "open") < p_open
        open_at = ts + 5 * MINUTE + int(unit(seed, *key, "open_at") * 6 * HOUR)
        if opened:
            events.append(_outcome(action, f"{channel}.opened", open_at))
        clicked = opened and unit(seed, *key, "click") < min(1.0, CLICK_BASE * quality_click * engaged)
        click_at = open_at + 10 * SECOND + int(unit(seed, *key, "click_at") * 5 * MINUTE)
    if clicked:
        events.append(_outcome(action, f"{channel}.clicked", click_at))
    offer, cart = params.get("offer"), params.get("cart_id")
    recovered = False
    if opened and isinstance(offer, str) and isinstance(cart, str) and cart and not bought_anyway:
        chance = RECOVERY.get(offer, 0.0) * (0.3 + 0.7 * traits.convert)
        recovered = unit(seed, *key, "recover") < chance
        if recovered:
            paid = open_at + HOUR + int(unit(seed, *key, "paid_at") * 47 * HOUR)
            order = {"cart_id": cart, "order_id": f"{cart}-r", "amount": 50.0, "currency": "EUR"}
            events.append(_event(action, "purchase", paid, order))
    return Response(opened, clicked, recovered, p_open, events)


def _outcome(action: Mapping[str, Any], etype: str, ts: int) -> Event:
    return _event(action, etype, ts, {"action_id": action["action_id"], "workflow_id": action["workflow_id"]})


def _event(action: Mapping[str, Any], etype: str, ts: int, properties: dict[str, Any]) -> Event:
    return {"event_id": f"{action['action_id']}:{etype}", "contact_id": str(action["contact_id"]),
            "type": etype, "ts": ts, "properties": properties}  # fmt: skip
