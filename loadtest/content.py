"""Content topics for a generated contact: a latent taste over TOPICS and the topic each content event of
its life carries.

Only streams asked for with ``StreamSpec(topics=True)`` get them. Every draw here comes from the contact's
own topic generator, ``random.Random(f"{seed}:{index}:topics")``, never from the generator that plans the
life, so the life (which events, when, with which other properties) is the same with or without topics and
a stream without topics stays byte-identical to what the generator produced before topics existed.

A taste is drawn from a Dirichlet distribution whose mean is POPULARITY (some topics are liked by more
contacts) and whose concentration is TASTE_CONCENTRATION (low: most contacts have one or two favourites).
A content event is about a topic drawn from the taste, except OFF_TASTE of them, whose topic is uniform
(content met by chance). A click on an email is about the topic of the email opened before it.
"""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Final

from loadtest.behaviour import Plan, Planned
from loadtest.truth import TOPICS

POPULARITY: Final = (0.28, 0.22, 0.16, 0.14, 0.11, 0.09)  # mean taste, per topic of TOPICS
TASTE_CONCENTRATION: Final = 2.0
OFF_TASTE: Final = 0.3
# The property that names the topic, per event type that carries one.
TOPIC_PROPERTY: Final = {
    "email.opened": "topic",
    "email.clicked": "topic",
    "link.clicked": "topic",
    "page.viewed": "topic",
    "form.submitted": "topic",
    "purchase": "category",
}


def topic_random(seed: int, index: int) -> random.Random:
    return random.Random(f"{seed}:{index}:topics")


def draw_taste(rng: random.Random) -> tuple[float, ...]:
    draws = [rng.gammavariate(TASTE_CONCENTRATION * share, 1.0) for share in POPULARITY]
    total = sum(draws) or 1.0
    return tuple(round(draw / total, 4) for draw in draws)


def with_topics(plan: Plan, rng: random.Random) -> Plan:
    """``plan`` with a drawn taste in its traits and a topic on each of its content events."""
    taste = draw_taste(rng)
    opened: dict[object, str] = {}  # campaign id -> topic of its last open
    events: list[Planned] = []
    for event in plan.events:
        key = TOPIC_PROPERTY.get(event.type)
        if key is None:
            events.append(event)
            continue
        campaign = event.properties.get("campaign_id")
        if event.type == "email.clicked" and campaign in opened:
            topic = opened[campaign]
        elif rng.random() < OFF_TASTE:
            topic = rng.choice(TOPICS)
        else:
            topic = rng.choices(TOPICS, taste)[0]
        if event.type == "email.opened":
            opened[campaign] = topic
        events.append(event._replace(properties={**event.properties, key: topic}))
    return Plan(replace(plan.traits, topic_taste=taste), plan.signup, plan.quiet_at, events)
