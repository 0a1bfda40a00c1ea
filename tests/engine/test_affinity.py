"""Content affinity: the fold from engagement events, its decay in event time and bounds, and how
conditions and templates read it (contact.affinity.<topic>, top_topics)."""

from __future__ import annotations

from typing import Any

import pytest

from engine import affinity as content
from engine.conditions import Scope, compile_condition
from engine.profile import SYSTEM_EVENT_TYPES, apply_event
from engine.templates import render, template_context
from engine.types import Profile
from tests.engine.fixtures import DAY, T0, make_event

H = content.HALF_LIFE_MS


def fold(*events: tuple[str, int, dict[str, Any]]) -> Profile:
    profile: Profile | None = None
    for event_type, ts, properties in events:
        profile = apply_event(profile, make_event(event_type, ts, **properties))
    assert profile is not None
    return profile


def value(profile: Profile, source: str, now: int) -> Any:
    return compile_condition(source).value(Scope(contact=profile, now=now))


def test_engagement_weights_a_click_over_an_open_and_reads_back_at_event_time() -> None:
    profile = fold(("email.opened", T0, {"topic": "travel"}), ("email.clicked", T0, {"topic": "food"}))
    assert content.score(profile.get("affinity"), "travel", T0) == pytest.approx(1.0)
    assert content.score(profile.get("affinity"), "food", T0) == pytest.approx(3.0)
    assert value(profile, "contact.affinity.food", T0) == pytest.approx(3.0)
    assert value(profile, "contact.affinity['travel']", T0) == pytest.approx(1.0)
    assert value(profile, "contact.affinity.food > contact.affinity.travel", T0) is True


def test_unknown_topic_and_no_affinity_read_zero() -> None:
    profile = fold(("email.clicked", T0, {"topic": "food"}))
    assert value(profile, "contact.affinity.sports", T0) == 0.0
    bare = fold(("contact.added", T0, {"first_name": "Ada"}))
    assert "affinity" not in bare
    assert value(bare, "contact.affinity.food", T0) == 0.0
    assert value(bare, "contact.affinity", T0) == {}
    assert value(bare, "top_topics()", T0) == []
    assert compile_condition("contact.affinity.food == 0").evaluate(Scope(contact=None, now=T0)) is True


def test_decay_halves_at_the_half_life_in_event_time() -> None:
    profile = fold(("purchase", T0, {"category": "Garden"}))
    assert value(profile, "contact.affinity.garden", T0) == pytest.approx(5.0)
    assert value(profile, "contact.affinity.garden", T0 + H) == pytest.approx(2.5)
    assert value(profile, "contact.affinity.garden", T0 + 3 * H) == pytest.approx(0.625)
    # the stored score did not change: decay is applied when read
    assert profile == fold(("purchase", T0, {"category": "Garden"}))


def test_old_engagement_loses_to_recent() -> None:
    # three clicks on travel two half-lives ago (9 then, 2.25 now) against one on food just now (3)
    old = T0 - 2 * H
    profile = fold(
        ("email.clicked", old, {"topic": "travel"}),
        ("email.clicked", old, {"topic": "travel"}),
        ("email.clicked", old, {"topic": "travel"}),
        ("email.clicked", T0, {"topic": "food"}),
    )
    assert value(profile, "top_topics(2)", T0) == ["food", "travel"]
    assert value(profile, "contact.affinity.travel", T0) == pytest.approx(2.25)
    # without the decay travel would still lead: the order is the decay's doing
    undecayed = fold(*(("email.clicked", T0, {"topic": t}) for t in ("travel", "travel", "travel", "food")))
    assert value(undecayed, "top_topics(1)", T0) == ["travel"]


def test_size_is_bounded_and_the_weakest_topic_goes() -> None:
    events = [("page.viewed", T0 + i, {"topic": f"t{i:02d}"}) for i in range(content.MAX_TOPICS)]
    events.insert(0, ("purchase", T0, {"topic": "strong"}))
    profile = fold(*events, ("page.viewed", T0 + DAY, {"topic": "newest"}))
    topics = set(profile["affinity"]["v"])
    assert len(topics) == content.MAX_TOPICS
    assert {"strong", "newest"} <= topics
    assert "t00" not in topics  # the oldest single view was the weakest
    assert value(profile, "top_topics(100)", T0 + DAY)[0] == "strong"
    assert len(value(profile, "top_topics(100)", T0 + DAY)) == content.MAX_TOPICS


def test_topics_are_normalised_shared_and_capped_per_event() -> None:
    profile = fold(("email.clicked", T0, {"topics": [" Travel ", "food", "travel", 3, ""], "topic": "FOOD"}))
    scores = content.scores(profile.get("affinity"), T0)
    assert scores == pytest.approx({"travel": 1.5, "food": 1.5})
    many = fold(("email.clicked", T0, {"topics": [f"t{i}" for i in range(9)]}))
    assert len(many["affinity"]["v"]) == content.MAX_TOPICS_PER_EVENT
    too_long = fold(("email.clicked", T0, {"topic": "x" * (content.MAX_TOPIC_CHARS + 1)}))
    assert "affinity" not in too_long


@pytest.mark.parametrize("event_type", sorted(SYSTEM_EVENT_TYPES | {"predicted.churn_risk", "cart.created"}))
def test_system_and_non_engagement_events_teach_nothing(event_type: str) -> None:
    profile = fold(("email.opened", T0, {"topic": "food"}), (event_type, T0 + 1, {"topic": "travel"}))
    assert set(profile["affinity"]["v"]) == {"food"}


def test_switchyard_outcomes_are_not_engagement() -> None:
    assert not set(content.ENGAGEMENT_WEIGHTS) & SYSTEM_EVENT_TYPES


def test_a_topic_less_event_keeps_the_same_affinity_object() -> None:
    profile = fold(("email.opened", T0, {"topic": "food"}))
    after = apply_event(profile, make_event("page.viewed", T0 + 1, url="/x"))
    assert after["affinity"] is profile["affinity"]
    after = apply_event(after, make_event("email.sent", T0 + 2, topic="food"))
    assert after["affinity"] is profile["affinity"]


def test_the_fold_is_deterministic_and_does_not_touch_its_input() -> None:
    events = [("email.clicked", T0 + i * DAY, {"topic": ("a", "b", "c")[i % 3]}) for i in range(30)]
    first = fold(*events)
    snapshot = {"b": first["affinity"]["b"], "v": dict(first["affinity"]["v"])}
    assert fold(*events) == first
    apply_event(first, make_event("purchase", T0 + 31 * DAY, topic="a"))
    assert first["affinity"] == snapshot


def test_top_topics_ranks_best_first_ties_by_name_and_refuses_bad_counts() -> None:
    profile = fold(
        ("email.clicked", T0, {"topic": "b"}),
        ("email.clicked", T0, {"topic": "a"}),
        ("email.opened", T0, {"topic": "c"}),
    )
    assert value(profile, "top_topics()", T0) == ["a", "b", "c"]
    assert value(profile, "top_topics(1)", T0) == ["a"]
    assert value(profile, "top_topics(0)", T0) == []
    assert value(profile, "top_topics(-2)", T0) == []
    assert value(profile, "top_topics(1.5)", T0) == []
    assert value(profile, "'c' in top_topics(2)", T0) is False
    assert value(profile, "'c' in top_topics(3)", T0) is True


def test_templates_read_affinity_and_top_topics() -> None:
    profile = fold(("email.clicked", T0, {"topic": "food"}), ("email.opened", T0, {"topic": "travel"}))
    context = template_context(profile, None, None, T0 + content.HALF_LIFE_MS, "c1")
    assert render("{{ contact.affinity.food }}|{{ contact.affinity.sports }}", context) == "1.5|0.0"
    assert render("{{ top_topics(2) | join(', ') }}", context) == "food, travel"
    assert render("{{ top_topics('x') }}{% if contact.affinity.food > 1 %}yes{% endif %}", context) == "[]yes"
    empty = template_context(None, None, None, T0)
    assert render("[{{ top_topics() | join(',') }}]{{ contact.affinity.food }}", empty) == "[]0.0"
