"""The shared models learn only from finite features: one infinite value would make the scaler's variance,
and then every weight, NaN, and every later score of every contact NaN."""

from __future__ import annotations

import math

import pytest

from ml.features import FEATURE_NAMES
from ml.models import ModelSet


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan, None])
def test_a_label_with_a_feature_that_is_not_a_finite_number_is_not_learned(bad: object) -> None:
    models = ModelSet()
    x = dict.fromkeys(FEATURE_NAMES, 0.5)
    assert models.learn("churn_risk", dict(x), 1)
    x["open_cart_value"] = bad  # type: ignore[assignment]
    assert not models.learn("churn_risk", x, 0)
    assert models.learned["churn_risk"] == 1
    churn, _ = models.score_vector([0.5] * len(FEATURE_NAMES))
    assert math.isfinite(churn)
