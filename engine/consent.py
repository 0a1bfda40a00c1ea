"""Consent per contact and channel, honoured by every workflow.

A contact's consent lives in its state (``consent``: channel -> status and event time), kept up to date by
its events:
- ``unsubscribed`` / ``subscribed``: ``properties.channel`` (email, sms, push), or every channel when absent;
- ``email.bounced`` (the email sink reports only permanent 5xx rejections) -> email ``bounced``;
- ``email.complained`` (a spam complaint) -> email ``complained``.
A profile attribute ``status: unsubscribed`` (what ``update_contact`` in the examples sets) also counts as
unsubscribed from every channel. A marketing send (the default ``category``) to a contact without consent
is suppressed in whichever workflow it comes from; ``category: transactional`` (receipts, password resets)
is still sent. A later ``subscribed`` restores consent, including after a bounce (a corrected address).
Later means in event time: an event older than the channel's recorded one changes nothing.
"""

from __future__ import annotations

from typing import Any

from engine.actions import CONTACT_CHANNELS
from engine.types import ContactState, Event

STATE_KEY = "consent"
REFUSING = frozenset({"unsubscribed", "bounced", "complained"})
TRANSACTIONAL = "transactional"
_STATUS_BY_TYPE = {
    "unsubscribed": "unsubscribed",
    "subscribed": "subscribed",
    "email.bounced": "bounced",
    "email.complained": "complained",
}
CONSENT_EVENT_TYPES = frozenset(_STATUS_BY_TYPE)


def record(state: ContactState, event: Event) -> None:
    """Fold a consent event into ``state`` (a fresh dict of the step's own)."""
    status = _STATUS_BY_TYPE[event["type"]]
    if event["type"].startswith("email."):
        channels: tuple[str, ...] = ("email",)
    else:
        named = event["properties"].get("channel")
        channels = (
            (named,)
            if isinstance(named, str) and named in CONTACT_CHANNELS
            else tuple(sorted(CONTACT_CHANNELS))
        )
    consent = dict(state.get(STATE_KEY) or {})
    for channel in channels:
        current = consent.get(channel)
        if isinstance(current, dict) and isinstance(current.get("ts"), int) and event["ts"] < current["ts"]:
            continue  # event time decides: a late `subscribed` does not undo a newer `unsubscribed`
        consent[channel] = {"status": status, "ts": event["ts"]}
    state[STATE_KEY] = consent


def consent_record(state: ContactState) -> dict[str, Any]:
    """What decides the contact's consent, alone: the record the worker publishes on the `consent`
    topic when it changes, so the sinks can check again just before delivery."""
    return {"consent": state.get(STATE_KEY) or {}, "status": state["profile"]["attrs"].get("status")}


def refusal(state: ContactState, channel: str, params: dict[str, Any]) -> str | None:
    """Why a send on ``channel`` with ``params`` may not go out, or None."""
    return refusal_of(consent_record(state), channel, params)


def refusal_of(record: dict[str, Any], channel: str, params: dict[str, Any]) -> str | None:
    """``refusal`` on a consent record (``consent_record``'s shape)."""
    if channel not in CONTACT_CHANNELS or params.get("category") == TRANSACTIONAL:
        return None
    if record.get("status") == "unsubscribed":
        return "consent: the contact is unsubscribed (status)"
    found = (record.get("consent") or {}).get(channel)
    if isinstance(found, dict) and found.get("status") in REFUSING:
        return f"consent: {channel} {found['status']}"
    return None
