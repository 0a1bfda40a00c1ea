"""The traffic generator: reproducible, on rate, in the event contract, and true to its ground truth."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from functools import cache
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from engine.durations import DAY
from engine.events import Limits, validate_event
from engine.types import Event
from loadtest.exceptions import GeneratorConfigError
from loadtest.generator import StreamSpec, Traffic, generate
from loadtest.truth import HOURS_PER_WEEK, ContactTruth, Traits, circular_distance

T0 = 1_767_261_600_000  # 2026-01-01T10:00:00Z
ENGAGEMENT = {"email.opened", "email.clicked", "page.viewed", "product.used", "link.clicked"}


@cache
def steady() -> Traffic:
    return generate(StreamSpec.at_rate(500, 10, contacts=600, start_ms=T0, seed=3))


@cache
def real_time() -> Traffic:
    return generate(StreamSpec.real_time(contacts=1500, events=36_000, days=60, start_ms=T0, seed=5))


def test_same_seed_same_stream_and_truth() -> None:
    spec = StreamSpec.at_rate(200, 5, contacts=200, start_ms=T0, seed=11)
    first, second = generate(spec), generate(spec)
    assert first.events == second.events
    assert first.truth == second.truth


def test_another_seed_another_stream() -> None:
    one = generate(StreamSpec.at_rate(200, 5, contacts=200, start_ms=T0, seed=11))
    other = generate(StreamSpec.at_rate(200, 5, contacts=200, start_ms=T0, seed=12))
    assert [e["type"] for e in one.events] != [e["type"] for e in other.events]


@pytest.mark.parametrize("traffic", [steady, real_time], ids=["steady", "real_time"])
def test_events_follow_the_contract_in_time_order(traffic: Callable[[], Traffic]) -> None:
    stream = traffic()
    spec = stream.spec
    events: list[Event] = stream.events
    assert len(events) == spec.events
    assert len({e["event_id"] for e in events}) == len(events)
    for event in events:
        assert set(event) == {"event_id", "contact_id", "type", "ts", "properties"}
        assert validate_event(dict(event), event["contact_id"].encode(), Limits()) == event
        assert spec.start_ms <= event["ts"] < spec.start_ms + spec.duration_ms
    assert all(a["ts"] <= b["ts"] for a, b in pairwise(events))
    assert {e["contact_id"] for e in events} == set(stream.truth)


def test_rate_times_duration_fills_every_second_at_the_rate() -> None:
    stream = steady()
    assert stream.spec.events == 5000 and stream.spec.duration_ms == 10_000
    per_second = Counter((e["ts"] - T0) // 1000 for e in stream.events)
    assert per_second == {second: 500 for second in range(10)}


def test_a_fixed_number_of_events_at_a_mean_rate() -> None:
    spec = StreamSpec.for_events(3000, 750, contacts=400, start_ms=T0)
    stream = generate(spec)
    assert len(stream.events) == 3000 and spec.duration_ms == 4000 and spec.rate == 750
    assert Counter((e["ts"] - T0) // 1000 for e in stream.events) == {s: 750 for s in range(4)}


def test_records_are_keyed_by_contact() -> None:
    stream = steady()
    key, value = stream.records()[0]
    assert key == stream.events[0]["contact_id"].encode()
    assert value.startswith(b'{"event_id":"lt-s3-000000000"')


@pytest.mark.parametrize("traffic", [steady, real_time], ids=["steady", "real_time"])
def test_lifecycles_start_with_signup_and_buy_real_carts(traffic: Callable[[], Traffic]) -> None:
    stream = traffic()
    for contact, events in stream.by_contact().items():
        truth = stream.truth[contact]
        assert events[0]["type"] == "contact.added" and events[0]["ts"] == truth.signup_ms
        assert [e["type"] for e in events].count("contact.added") == 1
        assert len(events) == truth.events
        carts: dict[str, float] = {}
        for event in events:
            if event["type"] == "cart.created":
                carts[event["properties"]["cart_id"]] = event["properties"]["value"]
            elif event["type"] == "purchase":
                assert carts[event["properties"]["cart_id"]] == event["properties"]["amount"]
        assert truth.carts == len(carts)
        assert truth.purchase_ms == tuple(e["ts"] for e in events if e["type"] == "purchase")


def test_converted_contacts_bought_within_the_window_and_others_did_not() -> None:
    stream = real_time()
    window = stream.spec.convert_window_days * DAY
    converted = 0
    for contact, events in stream.by_contact().items():
        truth = stream.truth[contact]
        bought_in_time = any(e["type"] == "purchase" and e["ts"] - truth.signup_ms <= window for e in events)
        assert truth.will_convert == bought_in_time
        assert truth.converts_within(stream.spec.convert_window_days) == truth.will_convert
        converted += truth.will_convert
    assert 0 < converted < len(stream.truth)


def test_churned_contacts_go_quiet_and_only_they_unsubscribe() -> None:
    stream = real_time()
    end = stream.spec.start_ms + stream.spec.duration_ms
    churned = 0
    for contact, events in stream.by_contact().items():
        truth = stream.truth[contact]
        types = [e["type"] for e in events]
        if truth.churned:
            churned += 1
            assert truth.quiet_from_ms is not None and truth.quiet_from_ms < end
            assert all(e["ts"] <= truth.quiet_from_ms for e in events)
            if "unsubscribed" in types:
                assert types[-1] == "unsubscribed"
        else:
            assert truth.quiet_from_ms is None and "unsubscribed" not in types
    assert 0 < churned < len(stream.truth)


def quarters(stream: Traffic, trait: str) -> tuple[list[ContactTruth], list[ContactTruth]]:
    """The contacts in the lowest and in the highest quarter of a latent trait."""
    truths = sorted(stream.truth.values(), key=lambda t: float(getattr(t.traits, trait)))
    quarter = len(truths) // 4
    return truths[:quarter], truths[-quarter:]


def share(group: list[ContactTruth], outcome: Callable[[ContactTruth], bool]) -> float:
    return sum(outcome(truth) for truth in group) / len(group)


def test_propensities_drive_behaviour() -> None:
    stream = real_time()
    low, high = quarters(stream, "convert")
    assert share(high, lambda t: bool(t.purchase_ms)) > 2 * share(low, lambda t: bool(t.purchase_ms))
    low, high = quarters(stream, "churn")
    assert share(high, lambda t: t.churned) > share(low, lambda t: t.churned) + 0.2
    by_contact = stream.by_contact()

    def opens_per_day(group: list[ContactTruth]) -> float:
        rates = []
        for truth in group:
            events = by_contact[truth.contact_id]
            alive = max(1.0, (events[-1]["ts"] - events[0]["ts"]) / DAY)
            rates.append(sum(e["type"] == "email.opened" for e in events) / alive)
        return statistics.mean(rates)

    low, high = quarters(stream, "engage")
    assert opens_per_day(high) > 2 * opens_per_day(low)


def test_affinity_peaks_at_the_best_hour() -> None:
    traits = Traits(0.5, 0.5, 0.5, "UTC", best_hour_of_week=100, hour_spread=2.0)
    values = [traits.affinity(hour) for hour in range(HOURS_PER_WEEK)]
    assert values.index(max(values)) == 100
    assert traits.affinity(100 + 24) > traits.affinity(100 + 12)  # the same hour on another day echoes


def test_engagement_clusters_around_the_true_best_hour_in_local_time() -> None:
    stream = real_time()
    near = total = 0
    for event in stream.events:
        if event["type"] not in ENGAGEMENT:
            continue
        traits = stream.truth[event["contact_id"]].traits
        local = datetime.fromtimestamp(event["ts"] / 1000, ZoneInfo(traits.timezone))
        hour_of_week = local.weekday() * 24 + local.hour + local.minute / 60
        near += circular_distance(hour_of_week, traits.best_hour_of_week + 0.5, 24) <= 2
        total += 1
    assert near / total > 1.6 * (4 / 24)  # four hours of the day hold well over their uniform share


def test_real_time_streams_keep_behaviour_days() -> None:
    stream = real_time()
    spans = [events[-1]["ts"] - events[0]["ts"] for events in stream.by_contact().values()]
    assert max(spans) > 30 * DAY
    signup_to_purchase_error = [
        truth.purchase_days[0] * DAY - (truth.purchase_ms[0] - truth.signup_ms)
        for truth in stream.truth.values()
        if truth.purchase_ms
    ]
    assert signup_to_purchase_error and all(abs(gap) <= 1 for gap in signup_to_purchase_error)


def test_too_few_events_per_contact_is_refused() -> None:
    with pytest.raises(GeneratorConfigError, match="events per contact"):
        generate(StreamSpec.at_rate(10, 10, contacts=100, start_ms=T0))
    with pytest.raises(GeneratorConfigError):
        StreamSpec.at_rate(0, 10, contacts=100, start_ms=T0)
