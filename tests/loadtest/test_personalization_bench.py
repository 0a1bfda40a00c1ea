"""The personalization benchmark at small scale: its figures are computed from the run, consistent with
each other, and personalization beats the best fixed variant on the seeded run."""

from __future__ import annotations

import subprocess
import sys
from functools import cache

import pytest

from engine.validation import validate_definition
from loadtest.personalization_bench import DEFAULT, Report, newsletter, run
from loadtest.truth import TOPICS


@cache
def report() -> Report:
    return run(contacts=400, events_per_contact=30, days=45, seed=7)


def test_counts_are_consistent() -> None:
    r = report()
    assert r.contacts == 400 and r.events == 400 * 30
    assert 0 < r.topic_events < r.events
    assert sum(r.chosen.values()) == r.contacts
    assert set(r.chosen) <= {*TOPICS, DEFAULT}
    assert len([name for name in r.chosen if name != DEFAULT]) >= 4  # the choice really varies


def test_rates_are_ordered_and_the_lift_is_computed_from_them() -> None:
    r = report()
    assert set(r.fixed_click_rates) == set(TOPICS)
    assert r.best_fixed_click_rate == max(r.fixed_click_rates.values())
    assert r.fixed_click_rates[r.best_fixed_variant] == r.best_fixed_click_rate
    assert 0 < r.default_click_rate < r.best_fixed_click_rate < r.oracle_click_rate <= 1
    assert r.personalized_click_rate <= r.oracle_click_rate
    assert r.lift_ratio == pytest.approx(r.personalized_click_rate / r.best_fixed_click_rate)
    assert r.lift_points == pytest.approx(100 * (r.personalized_click_rate - r.best_fixed_click_rate))
    low, high = r.lift_points_ci95
    assert low < r.lift_points < high


def test_personalization_beats_the_best_fixed_variant_on_the_seeded_run() -> None:
    r = report()
    assert r.lift_ratio > 1 and r.lift_points_ci95[0] > 0
    assert r.chose_true_favourite > 1 / len(TOPICS)


def test_without_variants_to_choose_from_there_is_no_lift() -> None:
    """A negative control: the same held-out step with a single variant cannot beat the best fixed one."""
    r = run(contacts=150, events_per_contact=30, days=45, seed=3, variants=(TOPICS[-1],))
    assert set(r.chosen) <= {TOPICS[-1], DEFAULT}
    assert r.lift_points < 0 and r.lift_ratio < 1


def test_throughput_figures_are_measured() -> None:
    r = report()
    for rate in (r.fold_events_per_second, r.fold_plain_events_per_second, r.affinity_updates_per_second):
        assert 0 < rate < float("inf")
    assert r.choice_steps_per_second > 0


def test_the_workflow_validates() -> None:
    assert validate_definition(newsletter()) == []


def test_runs_as_a_module() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "loadtest.personalization_bench",
         "--contacts", "120", "--events-per-contact", "25", "--days", "30"],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    assert "lift over best fixed" in done.stdout and "contacts: 120" in done.stdout
