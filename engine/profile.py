"""The contact profile: how every event folds into what we know about a contact.

Rules (also in the README's event contract):
- every event counts toward ``counts[type]`` and ``last_by_type[type]``;
- ``first_seen``/``last_seen`` follow the contact's own activity, so events that
  Switchyard itself produces (timer wake-ups, sink outcomes such as ``email.sent``,
  ``predicted.*`` scores) do not make a contact look active;
- ``contact.added``, ``contact.updated`` and ``crm.updated`` merge their properties
  into ``attrs`` (a ``null`` value removes the attribute);
- any event may carry ``add_tags`` / ``remove_tags`` (lists of strings);
- ``predicted.<name>`` events with a numeric ``score`` set ``scores[<name>]``;
- engagement events that name a topic update ``affinity`` (engine/affinity.py); the key is absent until
  the first one.

Events are applied in arrival order, which Kafka keeps per contact; an out-of-order
event still moves the time fields only forward (max) or backward (min) as they mean.
"""

from __future__ import annotations

from typing import Any

from engine.affinity import ENGAGEMENT_WEIGHTS, learn
from engine.types import Event, Profile

PROFILE_EVENT_TYPES = frozenset({"contact.added", "contact.updated", "crm.updated"})
TAG_KEYS = ("add_tags", "remove_tags")

# Produced by Switchyard, not by the contact: they count, but are not contact activity.
SYSTEM_EVENT_TYPES = frozenset(
    {
        "timer.fired",
        "email.sent",
        "email.bounced",
        "email.failed",
        "email.suppressed",
        "sms.sent",
        "sms.failed",
        "sms.suppressed",
        "push.sent",
        "push.failed",
        "push.suppressed",
        "webhook.delivered",
        "webhook.failed",
        "task.created",
        "notification.sent",
        "notification.failed",
        "crm.synced",
        "crm.failed",
        "document.generated",
        "signature.requested",
        "action.failed",
    }
)
# Internal wake-ups are not counted at all: they are bookkeeping, not behaviour.
UNCOUNTED_EVENT_TYPES = frozenset({"timer.fired"})


def new_profile() -> Profile:
    return {
        "attrs": {},
        "tags": [],
        "counts": {},
        "last_by_type": {},
        "scores": {},
        "first_seen": 0,
        "last_seen": 0,
    }


def apply_event(profile: Profile | None, event: Event) -> Profile:
    """Return the profile after ``event``. The input profile is not modified."""
    base = profile if profile is not None else new_profile()
    etype = event["type"]
    if etype in UNCOUNTED_EVENT_TYPES:
        return base
    ts = event["ts"]
    props = event["properties"]
    out: Profile = {
        "attrs": base["attrs"],
        "tags": base["tags"],
        "counts": {**base["counts"], etype: base["counts"].get(etype, 0) + 1},
        "last_by_type": {**base["last_by_type"], etype: max(ts, base["last_by_type"].get(etype, ts))},
        "scores": base["scores"],
        "first_seen": base["first_seen"],
        "last_seen": base["last_seen"],
    }
    if etype not in SYSTEM_EVENT_TYPES and not etype.startswith("predicted."):
        out["first_seen"] = ts if not base["first_seen"] else min(base["first_seen"], ts)
        out["last_seen"] = max(base["last_seen"], ts)
    if etype in PROFILE_EVENT_TYPES:
        out["attrs"] = merge_attrs(base["attrs"], props)
    if "add_tags" in props or "remove_tags" in props:
        out["tags"] = change_tags(base["tags"], props.get("add_tags", ()), props.get("remove_tags", ()))
    if etype.startswith("predicted."):
        score = props.get("score")
        if isinstance(score, (int, float)) and not isinstance(score, bool):
            out["scores"] = {**base["scores"], etype[len("predicted.") :]: float(score)}
    affinity = base.get("affinity")
    # engine.affinity.TOPIC_PROPERTIES spelled out: this runs on every event, and most name no topic
    if etype in ENGAGEMENT_WEIGHTS and ("topic" in props or "topics" in props or "category" in props):
        affinity = learn(affinity, etype, props, ts)
    if affinity is not None:
        out["affinity"] = affinity
    return out


def merge_attrs(attrs: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``attrs`` with ``changes`` merged in; ``None`` removes a key; tag keys are not attributes."""
    merged = dict(attrs)
    for key, value in changes.items():
        if key in TAG_KEYS:
            continue
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def change_tags(tags: list[str], add: Any, remove: Any) -> list[str]:
    """Sorted unique tags after adding ``add`` and removing ``remove`` (non-strings ignored)."""
    current = set(tags)
    current.update(t for t in add if isinstance(t, str))
    current.difference_update(t for t in remove if isinstance(t, str))
    return sorted(current)
