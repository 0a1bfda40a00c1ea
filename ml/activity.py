"""Which events are the contact's own activity, and which feature group an event type feeds.

Switchyard's own events (sends, deliveries, wake-ups, predictions) are not activity: a contact does not
look alive because we emailed it or scored it. The list is the engine profile's, plus every
``predicted.*`` event.
"""

from __future__ import annotations

from typing import Any

from engine.profile import SYSTEM_EVENT_TYPES
from engine.types import Event

TIMER_EVENT = "timer.fired"
PREDICTED_PREFIX = "predicted."
GROUP_OF_TYPE = {
    "email.opened": "open",
    "push.opened": "open",
    "email.clicked": "click",
    "link.clicked": "click",
    "sms.clicked": "click",
    "push.clicked": "click",
    "page.viewed": "page",
    "cart.created": "cart",
    "purchase": "purchase",
    "product.used": "product",
    "form.submitted": "form",
    "email.replied": "reply",
    "review.submitted": "review",
}
GROUPS = ("open", "click", "page", "pricing", "cart", "purchase", "product", "form", "reply", "review")
PRICING = "pricing"


def is_activity(event_type: str) -> bool:
    """True for events the contact did itself."""
    return event_type not in SYSTEM_EVENT_TYPES and not event_type.startswith(PREDICTED_PREFIX)


def is_pricing_view(event: Event) -> bool:
    """A page view of the pricing page (``properties.page == "pricing"`` or a ``/pricing`` url)."""
    if event["type"] != "page.viewed":
        return False
    props: dict[str, Any] = event["properties"]
    page, url = props.get("page"), props.get("url")
    return page == PRICING or (isinstance(url, str) and "/pricing" in url)
