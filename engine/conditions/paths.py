"""Evaluators for dotted paths: ``contact.*``, ``event.*``, ``run.*`` and ``now``.

How the first key below each root is looked up:
- ``contact.id`` is the contact's id; ``contact.tags``, ``counts``, ``last_by_type``, ``scores``,
  ``first_seen``, ``last_seen`` and ``attrs`` are the profile's own fields; ``open_rate``, ``click_rate``,
  ``reply_rate`` and ``bounce_rate`` are computed from counts; anything else is ``attrs[key]``;
- ``event.type``, ``ts``, ``event_id``, ``contact_id`` and ``properties`` are the event's fields; anything
  else is ``properties[key]``;
- ``run.key`` is ``run[key]``.
Deeper keys walk into objects and lists; anything missing is None.
"""

from __future__ import annotations

from typing import Any, Final

from engine import affinity as content
from engine.conditions.nodes import PathSegment
from engine.conditions.scope import Evaluator, Scope
from engine.conditions.values import child

ROOTS: Final = ("contact", "event", "run", "now")
PROFILE_KEYS: Final = frozenset(
    {"tags", "counts", "last_by_type", "scores", "first_seen", "last_seen", "attrs"}
)
EVENT_KEYS: Final = frozenset({"type", "ts", "event_id", "contact_id", "properties"})
# Engagement rates: (event type counted, per event type sent), capped at 1 because opens can repeat.
RATES: Final = {
    "open_rate": ("email.opened", "email.sent"),
    "click_rate": ("email.clicked", "email.sent"),
    "reply_rate": ("email.replied", "email.sent"),
    "bounce_rate": ("email.bounced", "email.sent"),
}


def count_of(scope: Scope, event_type: object) -> int:
    """How many events of ``event_type`` the contact has sent (0 when none or unknown)."""
    contact = scope.contact
    counts = contact.get("counts") if type(contact) is dict else child(contact, "counts")
    if type(counts) is dict and type(event_type) is str:
        value = counts.get(event_type, 0)
        if type(value) is int:
            return value
    elif not isinstance(event_type, str):
        return 0
    value = child(counts, event_type)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return 0
    return int(value) if isinstance(value, int) else int(max(0.0, min(value, 1e18)))


def ratio(scope: Scope, numerator: object, denominator: object) -> float:
    """count(numerator) / count(denominator); 0.0 when nothing was counted in the denominator."""
    below = count_of(scope, denominator)
    if below <= 0:
        return 0.0
    return count_of(scope, numerator) / below


def contact_id(scope: Scope) -> Any:
    if scope.contact_id is not None:
        return scope.contact_id
    from_event = child(scope.event, "contact_id")
    if from_event is not None:
        return from_event
    return child(child(scope.contact, "attrs"), "id")


def path_evaluator(root: str, segments: tuple[PathSegment, ...]) -> Evaluator:
    """An evaluator for ``root.segments...``; ``root`` must be one of ROOTS (the compiler checks)."""
    if root == "now":
        return _now
    if not segments:
        return _whole_root(root)
    first, rest = segments[0], segments[1:]
    if root == "contact" and first == "affinity" and rest:
        head = _affinity_of(rest[0])
        rest = rest[1:]
    else:
        head = _first_key(root, first)
    if not rest:
        return head
    if len(rest) == 1:
        key = rest[0]

        def one_deeper(scope: Scope) -> Any:
            return child(head(scope), key)

        return one_deeper

    def deeper(scope: Scope) -> Any:
        value = head(scope)
        for key in rest:
            if value is None:
                return None
            value = child(value, key)
        return value

    return deeper


def _now(scope: Scope) -> Any:
    return scope.now


def _whole_root(root: str) -> Evaluator:
    if root == "contact":
        return lambda scope: scope.contact
    if root == "event":
        return lambda scope: scope.event
    return lambda scope: scope.run


def _first_key(root: str, key: PathSegment) -> Evaluator:
    if root == "contact":
        return _contact_key(key)
    if root == "event":
        return _event_key(key)
    return lambda scope: child(scope.run, key)


def _contact_key(key: PathSegment) -> Evaluator:
    if key == "id":
        return contact_id
    if key in PROFILE_KEYS:
        return lambda scope: child(scope.contact, key)
    if key == "affinity":
        return lambda scope: content.scores(affinity_bag(scope), scope.now)
    if isinstance(key, str) and key in RATES:
        numerator, denominator = RATES[key]

        def rate(scope: Scope) -> Any:
            return min(1.0, ratio(scope, numerator, denominator))

        return rate

    def attribute(scope: Scope) -> Any:
        contact = scope.contact
        if type(contact) is dict:
            attrs = contact.get("attrs")
            if type(attrs) is dict:
                return attrs.get(key)
        return child(child(contact, "attrs"), key)

    return attribute


def affinity_bag(scope: Scope) -> Any:
    contact = scope.contact
    return contact.get("affinity") if type(contact) is dict else child(contact, "affinity")


def _affinity_of(topic: PathSegment) -> Evaluator:
    def affinity(scope: Scope) -> float:
        return content.score(affinity_bag(scope), topic, scope.now)

    return affinity


def _event_key(key: PathSegment) -> Evaluator:
    if key in EVENT_KEYS:
        return lambda scope: child(scope.event, key)

    def property_(scope: Scope) -> Any:
        event = scope.event
        if type(event) is dict:
            properties = event.get("properties")
            if type(properties) is dict:
                return properties.get(key)
        return child(child(event, "properties"), key)

    return property_
