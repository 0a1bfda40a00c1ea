"""Checkpoints: atomic pickles under <data dir>/ml/, restored models score the same and go on learning."""

from __future__ import annotations

import random

import pytest

from ml.checkpoint import ModelCheckpoint
from ml.exceptions import CheckpointError
from ml.features import FEATURE_NAMES, as_features
from ml.labels import CHURN, CONVERT
from ml.models import ModelSet


def _trained(n: int = 200) -> ModelSet:
    rng = random.Random(1)
    models = ModelSet()
    for _ in range(n):
        vector = [rng.random() for _ in FEATURE_NAMES]
        models.learn(CHURN, as_features(vector), int(vector[0] > 0.5))
        models.learn(CONVERT, as_features(vector), int(vector[1] > 0.7))
    models.prior.record(9, 1.0, 1_000)
    models.bandit.update("emea", "sms", 1.0)
    return models


def test_a_restored_model_set_scores_the_same_and_keeps_learning(tmp_path) -> None:
    models = _trained()
    checkpoint = ModelCheckpoint(tmp_path, every_s=60)
    path = checkpoint.save(models, now=10.0)
    assert path == tmp_path / "ml" / "models.pkl"
    assert [p.name for p in (tmp_path / "ml").iterdir()] == ["models.pkl"]  # no temp file left behind
    restored = ModelCheckpoint(tmp_path).load()
    assert restored is not None
    probe = [0.3] * len(FEATURE_NAMES)
    assert restored.score_vector(probe) == models.score_vector(probe)
    assert restored.learned == models.learned and restored.prior.shares() == models.prior.shares()
    assert restored.bandit.mean_rates("emea") == models.bandit.mean_rates("emea")
    restored.learn(CHURN, as_features(probe), 1)
    assert restored.learned[CHURN] == models.learned[CHURN] + 1


def test_periodic_saves(tmp_path) -> None:
    checkpoint = ModelCheckpoint(tmp_path, every_s=60)
    models = _trained(10)
    assert checkpoint.maybe_save(models, now=100.0)
    assert not checkpoint.maybe_save(models, now=130.0)
    assert checkpoint.due(160.0) and checkpoint.maybe_save(models, now=160.0)


def test_missing_and_broken_checkpoints(tmp_path) -> None:
    checkpoint = ModelCheckpoint(tmp_path)
    assert checkpoint.load() is None
    checkpoint.directory.mkdir(parents=True)
    checkpoint.path.write_bytes(b"not a pickle")
    with pytest.raises(CheckpointError):
        checkpoint.load()
    import pickle

    checkpoint.path.write_bytes(pickle.dumps({"format": 99}))
    with pytest.raises(CheckpointError, match="format"):
        checkpoint.load()


def test_a_failed_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch) -> None:
    checkpoint = ModelCheckpoint(tmp_path)
    checkpoint.save(_trained(10), now=1.0)
    before = checkpoint.path.read_bytes()

    def broken_dump(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("ml.checkpoint.pickle.dump", broken_dump)
    with pytest.raises(OSError):
        checkpoint.save(_trained(20), now=2.0)
    assert checkpoint.path.read_bytes() == before
    assert [p.name for p in checkpoint.directory.iterdir()] == ["models.pkl"]
