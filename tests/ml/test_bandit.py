"""Thompson sampling over channels: deterministic by seed, learns each segment's best channel, and its
regret grows ever more slowly."""

from __future__ import annotations

import pickle

import pytest

from loadtest.ml_experiments import BANDIT_RATES, bandit_regret
from ml.bandit import ALL, MAX_SEGMENT_CHARS, MAX_SEGMENTS, ThompsonBandit, reward_for, segment_of
from ml.exceptions import MLConfigError, UnknownArmError


def _choices(bandit: ThompsonBandit, n: int) -> list[str]:
    out = []
    for k in range(n):
        channel = bandit.choose("emea")
        bandit.update("emea", channel, float(k % 3 == 0))
        out.append(channel)
    return out


def test_same_seed_same_choices_and_a_restored_bandit_continues_the_sequence() -> None:
    assert _choices(ThompsonBandit(seed=5), 200) == _choices(ThompsonBandit(seed=5), 200)
    assert _choices(ThompsonBandit(seed=5), 200) != _choices(ThompsonBandit(seed=6), 200)
    original = ThompsonBandit(seed=5)
    _choices(original, 50)
    copy = pickle.loads(pickle.dumps(original))
    assert _choices(copy, 50) == _choices(original, 50)


def test_it_learns_the_best_channel_of_each_segment() -> None:
    bandit = ThompsonBandit(seed=2)
    import random

    world = random.Random(3)
    for _ in range(6000):
        segment = world.choice(sorted(BANDIT_RATES))
        channel = bandit.choose(segment)
        bandit.update(segment, channel, float(world.random() < BANDIT_RATES[segment][channel]))
    for segment, rates in BANDIT_RATES.items():
        picks = [bandit.choose(segment) for _ in range(200)]
        best = max(rates, key=rates.__getitem__)
        assert picks.count(best) > 150, (segment, best)


def test_regret_flattens_and_beats_any_fixed_channel() -> None:
    points = bandit_regret(20_000, seed=11)
    first, last = points[0], points[-1]
    early_rate = first.regret / first.rounds
    late_rate = (last.regret - points[-2].regret) / (last.rounds - points[-2].rounds)
    assert late_rate < early_rate / 3
    assert last.regret < last.random_regret / 4
    assert last.regret_vs_global < 0  # per-segment choice beats the best single channel for everyone


def test_rewards_from_outcomes_and_bad_arms() -> None:
    assert reward_for([]) == 0.0
    assert reward_for(["email.opened"]) == 0.3
    assert reward_for(["email.opened", "email.clicked"]) == 0.7
    assert reward_for(["push.opened", "purchase"]) == 1.0
    bandit = ThompsonBandit(["email", "sms"])
    with pytest.raises(UnknownArmError):
        bandit.update("x", "fax", 1.0)
    with pytest.raises(MLConfigError):
        ThompsonBandit([])
    assert bandit.choose("x", allowed=["sms"]) == "sms"
    bandit.update("x", "sms", 5.0)  # clamped to 1
    assert bandit.mean_rates("x") == {"email": 0.5, "sms": pytest.approx(2 / 3)}


def test_draw_tables_are_bounded_like_posteriors() -> None:
    """Tables are drawn for every contact picked for, posteriors only when a trial closes: free-form segments
    (an account id) must not grow the tables, and with them the checkpoint, without end."""
    bandit = ThompsonBandit(("email", "sms", "push"), seed=3)
    for n in range(MAX_SEGMENTS + 500):
        bandit.table(f"account-{n}")
    assert len(bandit.tables) <= MAX_SEGMENTS + 1  # the others share ALL's
    assert bandit.segment_key("account-5") == "account-5"
    assert bandit.segment_key(f"account-{MAX_SEGMENTS + 100}") == ALL


def test_a_long_segment_stands_as_a_short_digest() -> None:
    long = "€" * 16_000
    key = segment_of({"segment": long})
    assert len(key) <= MAX_SEGMENT_CHARS and key == segment_of({"segment": long})
    assert key != segment_of({"segment": long + "x"})
    assert segment_of({"segment": "pro"}) == "pro" and segment_of({}) == ALL
