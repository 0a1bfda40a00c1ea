"""loadtest.percentiles: the nearest-rank rule every benchmark uses."""

from __future__ import annotations

import random

import pytest

from loadtest.percentiles import percentile


def smallest_covering(values: list[float], q: float) -> float:
    """Definition of the nearest-rank percentile: the smallest value with at least q% of values <= it."""
    for candidate in sorted(values):
        if sum(v <= candidate for v in values) >= q / 100 * len(values):
            return candidate
    raise AssertionError("unreachable")


def test_percentile_of_one_to_hundred() -> None:
    values = [float(v) for v in range(1, 101)]
    assert [percentile(values, q) for q in (0, 50, 95, 99, 100)] == [1.0, 50.0, 95.0, 99.0, 100.0]


@pytest.mark.parametrize("seed", range(5))
def test_percentile_matches_its_definition(seed: int) -> None:
    rng = random.Random(seed)
    values = [float(rng.randint(0, 50)) for _ in range(rng.randint(1, 40))]
    ordered = sorted(values)
    for q in (1, 25, 50, 90, 95, 99, 100):
        assert percentile(ordered, q) == smallest_covering(values, q)


def test_percentile_rejects_empty_and_out_of_range() -> None:
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_the_rank_is_exact_where_float_arithmetic_would_round_it_up() -> None:
    # in floats 99.9 / 100 * 1000 is 999.0000000000001, whose ceiling is rank 1,000
    for n in (1_000, 2_000, 10_000):
        values = [float(v) for v in range(1, n + 1)]
        assert percentile(values, 99.9) == n * 999 // 1000
    thousand = [float(v) for v in range(1, 1_001)]
    assert percentile(thousand, 99.95) == 1_000.0  # rank 999.5: the next value up
    assert percentile(thousand, 0.1) == 1.0 and percentile(thousand, 0.15) == 2.0
