"""The online models: River pipelines for churn and conversion, and the set a worker keeps.

Kinds (``make_model``):
- ``logreg``: StandardScaler | LogisticRegression (SGD). The default: its prequential AUC is within a
  point of the best kind on the generator's ground truth, it scores ~10x faster than a forest, learns
  from few labels and stays stable after a restore (loadtest/ml_bench.py prints the comparison).
- ``hoeffding``: a Hoeffding adaptive tree (drift-aware, no scaling needed).
- ``forest``: an adaptive random forest of Hoeffding trees (ARF): the most flexible, the slowest.

A ``ModelSet`` holds one model per predicted name, the worker-wide population send-time prior and the
channel bandit; it is what ml.checkpoint pickles.
"""

from __future__ import annotations

import math
from operator import mul
from typing import Any, ClassVar

from mypy_extensions import mypyc_attr
from river import compose, forest, linear_model, optim, preprocessing, tree

from ml.attributes import attribute_state, set_attributes
from ml.bandit import ThompsonBandit
from ml.exceptions import MLConfigError
from ml.features import FEATURE_NAMES, Features, as_features
from ml.labels import CHURN, CONVERT, MODEL_NAMES
from ml.send_time import PopulationPrior

MODEL_KINDS = ("logreg", "hoeffding", "forest")
DEFAULT_KIND = "logreg"
LEARNING_RATE = 0.005
L2 = 0.0


def make_model(kind: str, seed: int = 1) -> Any:
    """A fresh River classifier of ``kind`` (see the module docstring)."""
    if kind == "logreg":
        return compose.Pipeline(
            preprocessing.StandardScaler(),
            linear_model.LogisticRegression(optimizer=optim.SGD(LEARNING_RATE), l2=L2),
        )
    if kind == "hoeffding":
        return tree.HoeffdingAdaptiveTreeClassifier(grace_period=100, seed=seed)
    if kind == "forest":
        return forest.ARFClassifier(n_models=5, seed=seed)
    raise MLConfigError(f"unknown model kind {kind!r}; choose one of {', '.join(MODEL_KINDS)}")


LOGIT_CLAMP = 30.0  # River's sigmoid saturates beyond this
VIEW_REFRESH = 16  # rebuild a linear view after this many labels (scores lag the model by fewer)


class LinearView:
    """A StandardScaler | LogisticRegression pipeline folded into one weight vector over the feature
    list: ``sigmoid(c + sum(a_i * x_i))`` with ``a_i = w_i / std_i`` and ``c = b - sum(a_i * mean_i)``.
    Same probabilities as River's ``predict_proba_one`` (to rounding), without building dicts; rebuilt
    after the pipeline learns."""

    def __init__(self, pipeline: Any) -> None:
        scaler, regression = pipeline.steps.values()
        weights: dict[str, float] = regression.weights
        slopes: list[float] = []
        offset = float(regression.intercept)
        for name in FEATURE_NAMES:
            variance = scaler.vars.get(name, 0.0)
            slope = weights.get(name, 0.0) / math.sqrt(variance) if variance else 0.0
            slopes.append(slope)
            offset -= slope * scaler.means.get(name, 0.0)
        self.slopes = slopes
        self.offset = offset

    def score(self, vector: list[float]) -> float:
        logit = self.offset + sum(map(mul, self.slopes, vector))
        if logit < -LOGIT_CLAMP:
            return 0.0
        if logit > LOGIT_CLAMP:
            return 1.0
        return 1.0 / (1.0 + math.exp(-logit))


@mypyc_attr(allow_interpreted_subclasses=True)  # tests script their scores in a subclass
class ModelSet:
    """The models of one worker: churn and conversion, learned from its own partitions."""

    PICKLED: ClassVar[tuple[str, ...]] = (
        "kind", "view_refresh", "models", "learned", "prior", "bandit", "_stale"
    )  # fmt: skip

    def __init__(self, kind: str = DEFAULT_KIND, seed: int = 1, view_refresh: int = VIEW_REFRESH) -> None:
        self.kind = kind
        self.view_refresh = view_refresh
        self.models: dict[str, Any] = {name: make_model(kind, seed) for name in MODEL_NAMES}
        self.learned: dict[str, int] = dict.fromkeys(MODEL_NAMES, 0)
        self.prior = PopulationPrior()
        self.bandit = ThompsonBandit(seed=seed)
        self._views: dict[str, LinearView] = {}  # logreg only
        self._stale: dict[str, int] = dict.fromkeys(MODEL_NAMES, 0)  # labels learned since the view

    def score(self, name: str, x: Features) -> float:
        """P(label = 1) under model ``name``."""
        proba: dict[Any, float] = self.models[name].predict_proba_one(x)
        return float(proba.get(True, proba.get(1, 0.0)))

    def scores(self, x: Features) -> tuple[float, float]:
        """(churn risk, likelihood to convert)."""
        return self.score(CHURN, x), self.score(CONVERT, x)

    def score_vector(self, vector: list[float]) -> tuple[float, float]:
        """(churn risk, likelihood to convert) of a feature vector in ``FEATURE_NAMES`` order; the fast
        path used per event: for ``logreg`` a folded linear view, rebuilt once the model has learned
        ``view_refresh`` labels since it was built)."""
        if self.kind != "logreg":
            return self.scores(as_features(vector))
        views = self._views
        return (
            (views.get(CHURN) or self._view(CHURN)).score(vector),
            (views.get(CONVERT) or self._view(CONVERT)).score(vector),
        )

    def _view(self, name: str) -> LinearView:
        view = self._views[name] = LinearView(self.models[name])
        self._stale[name] = 0
        return view

    def learn(self, name: str, x: Features, label: int) -> bool:
        """Learn one label; False (and nothing learned) for features that are not all finite numbers: one
        infinite value makes the scaler's variance and then every weight NaN, for every contact."""
        if not all(type(value) in (float, int) and math.isfinite(value) for value in x.values()):
            return False
        self.models[name].learn_one(x, bool(label))
        self.learned[name] += 1
        self._stale[name] += 1
        if self._stale[name] >= self.view_refresh:
            self._views.pop(name, None)
        return True

    def __getstate__(self) -> dict[str, Any]:
        return attribute_state(self, self.PICKLED)  # not ``_views``: derived, rebuilt on first use

    def __setstate__(self, state: dict[str, Any]) -> None:
        # checkpoints written before views existed
        before_views = {"view_refresh": VIEW_REFRESH, "_stale": dict.fromkeys(MODEL_NAMES, 0)}
        set_attributes(self, {**before_views, **state}, self.PICKLED)
        self._views = {}
