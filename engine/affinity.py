"""Content affinity: how much a contact engages with each topic, learned online and decayed in event time.

Rules (also in docs/personalization.md):
- only engagement events count, each with a weight (ENGAGEMENT_WEIGHTS): a click, a form or a purchase
  says more than an open or a page view. Events Switchyard produces itself (sink outcomes such as
  ``email.sent``, timer wake-ups, ``predicted.*`` scores) never count; opens and clicks do, because they
  are the contact's own engagement even when a tracking endpoint reports them;
- an event's topics are its ``topic`` (text), ``topics`` (list of text) and ``category`` (text)
  properties, trimmed and lower-cased, at most MAX_TOPICS_PER_EVENT of them, each at most
  MAX_TOPIC_CHARS characters; the event's weight is shared equally between its topics;
- scores decay exponentially with HALF_LIFE_MS of event time. They are kept as an engine.decay bag (one
  reference time for all topics, values stored inflated to it), so an update touches one topic and a
  read at ``now`` costs one power;
- at most MAX_TOPICS topics are kept: adding one more drops the weakest (ties: the last by name).

Everything is pure and deterministic: the same events in the same order give the same scores.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from engine import decay
from engine.durations import DAY

HALF_LIFE_MS: Final = 30 * DAY
MAX_TOPICS: Final = 20
MAX_TOPICS_PER_EVENT: Final = 5
MAX_TOPIC_CHARS: Final = 64
DEFAULT_TOP: Final = 3
TOPIC_PROPERTIES: Final = ("topic", "topics", "category")
ENGAGEMENT_WEIGHTS: Final[Mapping[str, float]] = {
    "email.opened": 1.0,
    "push.opened": 1.0,
    "page.viewed": 1.0,
    "email.clicked": 3.0,
    "push.clicked": 3.0,
    "sms.clicked": 3.0,
    "link.clicked": 3.0,
    "email.replied": 3.0,
    "form.submitted": 4.0,
    "purchase": 5.0,
}

Affinity = decay.DecayedBag  # the profile's "affinity": {"b": reference ms, "v": {topic: inflated score}}


def normal_topic(value: object) -> str | None:
    """``value`` as a topic (trimmed, lower case), or None when it is not usable text."""
    if type(value) is not str:
        return None
    topic = value.strip().lower()
    if not topic or len(topic) > MAX_TOPIC_CHARS:
        return None
    return topic


def event_topics(properties: Mapping[str, Any]) -> tuple[str, ...]:
    """The distinct topics an event's properties name, in the order written, at most MAX_TOPICS_PER_EVENT."""
    if "topics" not in properties and "category" not in properties:  # the common case: one topic or none
        topic = normal_topic(properties.get("topic"))
        return () if topic is None else (topic,)
    found: list[str] = []
    for key in TOPIC_PROPERTIES:
        value = properties.get(key)
        if value is None:
            continue
        for item in value if type(value) is list else (value,):
            topic = normal_topic(item)
            if topic is not None and topic not in found:
                found.append(topic)
                if len(found) == MAX_TOPICS_PER_EVENT:
                    return tuple(found)
    return tuple(found)


def learn(
    affinity: Affinity | None, event_type: str, properties: Mapping[str, Any], ts: int
) -> Affinity | None:
    """``affinity`` after an event; the same object when the event teaches nothing (not engagement, or
    no topic)."""
    weight = ENGAGEMENT_WEIGHTS.get(event_type)
    if weight is None:
        return affinity
    topics = event_topics(properties)
    if not topics:
        return affinity
    bag = decay.add_keys(affinity or decay.empty_bag(), topics, weight / len(topics), ts, HALF_LIFE_MS)
    values: dict[str, float] = bag["v"]
    while len(values) > MAX_TOPICS:  # add_keys copied the values, so trimming them in place is safe
        del values[max(values, key=lambda topic: (-values[topic], topic))]
    return bag


def score(affinity: Any, topic: object, now: int) -> float:
    """The decayed affinity for ``topic`` at ``now``; 0.0 for unknown topics or a missing affinity."""
    key = normal_topic(topic)
    if key is None or type(affinity) is not dict or type(affinity.get("v")) is not dict:
        return 0.0
    return decay.read(affinity, key, now, HALF_LIFE_MS)


def scores(affinity: Any, now: int) -> dict[str, float]:
    """Every topic's decayed affinity at ``now`` (empty when there is none)."""
    if type(affinity) is not dict or type(affinity.get("v")) is not dict:
        return {}
    return decay.read_all(affinity, now, HALF_LIFE_MS)


def top_topics(affinity: Any, n: object = DEFAULT_TOP) -> list[str]:
    """The ``n`` topics with the highest affinity, best first (ties by name). The order does not depend
    on ``now``: every topic decays by the same factor."""
    if type(n) is not int or n <= 0 or type(affinity) is not dict or type(affinity.get("v")) is not dict:
        return []
    ranked = sorted(affinity["v"].items(), key=lambda item: (-item[1], item[0]))
    return [topic for topic, value in ranked[:n] if value > 0]
