"""Decayed counters as plain data."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine import decay

H = 1000


def test_a_value_halves_every_half_life() -> None:
    bag = decay.add(decay.empty_bag(), "a", 8.0, 5_000, H)
    assert decay.read(bag, "a", 5_000, H) == pytest.approx(8.0)
    assert decay.read(bag, "a", 6_000, H) == pytest.approx(4.0)
    assert decay.read(bag, "a", 8_000, H) == pytest.approx(1.0)
    assert decay.read(bag, "missing", 8_000, H) == 0.0


def test_out_of_order_adds_are_weighted_by_their_own_time() -> None:
    bag = decay.add(decay.empty_bag(), "a", 1.0, 10_000, H)
    bag = decay.add(bag, "a", 1.0, 9_000, H)  # one half-life older
    assert decay.read(bag, "a", 10_000, H) == pytest.approx(1.5)


def test_rebasing_keeps_values_and_finite_numbers() -> None:
    bag = decay.empty_bag()
    for step in range(200):
        bag = decay.add(bag, "a", 1.0, step * 5 * H, H)
    assert max(bag["v"].values()) < 2.0**decay.REBASE_AFTER_HALF_LIVES * 4
    # geometric series of 1 + 2^-5 + 2^-10 + ...
    assert decay.read(bag, "a", 199 * 5 * H, H) == pytest.approx(1 / (1 - 2**-5))


@given(st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 50 * H)), min_size=1, max_size=30))
def test_add_is_pure_and_matches_the_direct_sum(adds: list[tuple[str, int]]) -> None:
    bag = decay.empty_bag()
    for key, ts in adds:
        before = copy.deepcopy(bag)
        new = decay.add(bag, key, 1.0, ts, H)
        assert bag == before
        bag = new
    now = 60 * H
    for key in "abc":
        expected = sum(2.0 ** (-(now - ts) / H) for k, ts in adds if k == key)
        assert decay.read(bag, key, now, H) == pytest.approx(expected, rel=1e-9, abs=1e-12)
    # keys that decayed to nothing may be pruned on a rebase; the others are all there
    kept = decay.read_all(bag, now, H).keys()
    assert {k for k, ts in adds if now - ts < 20 * H} <= kept <= {k for k, _ in adds}


def test_reading_before_the_base_gives_the_value_at_the_base() -> None:
    """A late reader (an event years before the bag's base) gets the value at the base: read further back,
    later additions would be inflated, and past 1,024 half-lives the float overflows."""
    bag = decay.add(decay.empty_bag(), "k", 1.0, 10_000 * H, H)
    assert decay.read(bag, "k", 0, H) == decay.read(bag, "k", 10_000 * H, H) == 1.0
    assert decay.read_all(bag, 0, H) == {"k": 1.0}
