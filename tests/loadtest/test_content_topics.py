"""Streams with content topics (StreamSpec.topics): the stream without topics is unchanged byte for byte,
and the topics follow each contact's latent taste."""

from __future__ import annotations

import hashlib
from collections import Counter
from functools import cache

import orjson
import pytest

from loadtest.content import TOPIC_PROPERTY, draw_taste, topic_random
from loadtest.generator import StreamSpec, Traffic, generate
from loadtest.personalization_bench import without_topics
from loadtest.truth import TOPICS, Traits

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def digest(traffic: Traffic) -> str:
    h = hashlib.sha256()
    for event in traffic.events:
        h.update(orjson.dumps(event, option=orjson.OPT_SORT_KEYS))
    return h.hexdigest()[:32]


def spec(topics: bool) -> StreamSpec:
    return StreamSpec.real_time(contacts=120, events=3000, days=20, start_ms=T0, seed=5, topics=topics)


@cache
def pair() -> tuple[Traffic, Traffic]:
    return generate(spec(False)), generate(spec(True))


# Digests of these streams made by the generator before content topics existed (commit 3542a02), so any
# change to the draws of existing streams shows here.
BEFORE_TOPICS = [
    (StreamSpec.at_rate(200, 10, contacts=150, start_ms=T0, seed=11), "0f85d5a517500b3032a290734525c796"),
    (spec(False), "c5df4f702de4d76d0891d552344cc9b2"),
]


@pytest.mark.parametrize(("stream", "expected"), BEFORE_TOPICS, ids=["steady", "real_time"])
def test_streams_without_topics_are_byte_identical_to_before(stream: StreamSpec, expected: str) -> None:
    assert digest(generate(stream)) == expected


def test_topics_only_add_a_property_to_content_events() -> None:
    plain, topical = pair()
    assert digest(topical) != digest(plain)
    assert without_topics(topical.events) == plain.events
    tagged = [e for e in topical.events if TOPIC_PROPERTY.get(e["type"]) in e["properties"]]
    assert len(tagged) == sum(1 for e in topical.events if e["type"] in TOPIC_PROPERTY)
    assert {e["properties"][TOPIC_PROPERTY[e["type"]]] for e in tagged} <= set(TOPICS)
    for contact_id, truth in topical.truth.items():
        assert truth.traits.topic_taste and sum(truth.traits.topic_taste) == pytest.approx(1, abs=1e-3)
        assert plain.truth[contact_id].traits.topic_taste == ()
        assert truth.traits.engage == plain.truth[contact_id].traits.engage


def test_a_click_is_about_the_email_it_clicks() -> None:
    _, topical = pair()
    opened: dict[tuple[str, str], str] = {}
    checked = 0
    for event in topical.events:
        key = (event["contact_id"], event["properties"].get("campaign_id", ""))
        if event["type"] == "email.opened":
            opened[key] = event["properties"]["topic"]
        elif event["type"] == "email.clicked" and key in opened:
            assert event["properties"]["topic"] == opened[key]
            checked += 1
    assert checked > 50


def test_engagement_topics_follow_the_latent_taste() -> None:
    traffic = generate(
        StreamSpec.real_time(contacts=300, events=15_000, days=30, start_ms=T0, seed=9, topics=True)
    )
    by_contact: dict[str, Counter[str]] = {}
    for event in traffic.events:
        key = TOPIC_PROPERTY.get(event["type"])
        if key is not None:
            by_contact.setdefault(event["contact_id"], Counter())[event["properties"][key]] += 1
    hits = total = 0
    for contact_id, counts in by_contact.items():
        if sum(counts.values()) < 30:
            continue
        taste = traffic.truth[contact_id].traits.topic_taste
        favourite = TOPICS[max(range(len(TOPICS)), key=lambda i: taste[i])]
        hits += counts.most_common(1)[0][0] == favourite
        total += 1
    assert total > 50
    assert hits / total > 0.7  # a uniform topic would be the favourite one time in six


def test_the_true_click_chance_follows_the_taste() -> None:
    taste = (0.5, 0.3, 0.1, 0.05, 0.05, 0.0)
    traits = Traits(0.5, 0.5, 0.5, "UTC", 0, 2.0, topic_taste=taste)
    clicks = [traits.email_click(topic) for topic in TOPICS]
    assert clicks == sorted(clicks, reverse=True)
    assert clicks[0] == pytest.approx(0.4) and clicks[-1] == pytest.approx(0.4 * 0.2)
    assert clicks[-1] < traits.email_click(None) < clicks[0]
    assert Traits(0.5, 0.5, 0.5, "UTC", 0, 2.0).email_click("food") == pytest.approx(0.4)


def test_the_taste_draw_is_its_own_and_reproducible() -> None:
    assert draw_taste(topic_random(7, 3)) == draw_taste(topic_random(7, 3))
    assert draw_taste(topic_random(7, 3)) != draw_taste(topic_random(7, 4))
