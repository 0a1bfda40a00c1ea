"""Measured against the generator's ground truth on a modest stream (the full-size figures are printed
by loadtest/ml_bench.py): online learning keeps up with a batch model, and survives a restart."""

from __future__ import annotations

import pytest

from loadtest.ml_experiments import compare_offline, restart_run
from ml.labels import CHURN, CONVERT
from tests.ml.fixtures import small_run, small_traffic

pytest.importorskip("sklearn", reason="scikit-learn is the test-only offline baseline")


@pytest.mark.parametrize("model", [CHURN, CONVERT])
def test_prequential_auc_is_within_three_points_of_an_offline_batch_model(model: str) -> None:
    figures = compare_offline(small_run(), model)
    assert figures.samples > 5_000 and 0.03 < figures.positives < 0.6
    assert figures.online_auc >= figures.best_offline() - 0.03, figures
    assert figures.online_auc > 0.75  # and far from chance


def test_a_restored_model_goes_on_learning_instead_of_starting_from_chance() -> None:
    for figures in restart_run(small_traffic().events):
        assert figures.restored_learned > 1_000
        assert figures.restored_auc > 0.75, figures
        assert figures.restored_auc >= figures.continuous_auc - 0.01, figures
        assert figures.restored_auc > figures.cold_auc, figures
