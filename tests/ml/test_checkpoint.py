"""Checkpoints: atomic pickles under <data dir>/ml/, restored models score the same and go on learning."""

from __future__ import annotations

import copyreg
import pickle
import random
from typing import Any, ClassVar

import pytest

from ml.bandit import ThompsonBandit
from ml.checkpoint import CHECKPOINT_FORMAT, ModelCheckpoint
from ml.exceptions import CheckpointError
from ml.features import FEATURE_NAMES, as_features
from ml.labels import CHURN, CONVERT
from ml.models import ModelSet
from ml.send_time import PopulationPrior, PriorView


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

    def broken_fsync(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")  # the data never reached the disk

    monkeypatch.setattr("ml.checkpoint.os.fsync", broken_fsync)
    with pytest.raises(OSError):
        checkpoint.save(_trained(20), now=2.0)
    assert checkpoint.path.read_bytes() == before
    assert [p.name for p in checkpoint.directory.iterdir()] == ["models.pkl"]


def test_the_bandit_and_the_prior_view_round_trip_and_picks_go_on_the_same(tmp_path) -> None:
    models = _trained(10)
    for k in range(40):
        models.bandit.update("emea", ("email", "sms", "push")[k % 3], (k % 5) / 4)
    table = models.bandit.table("emea")
    view = models.prior.view()
    ModelCheckpoint(tmp_path).save(models, now=1.0)
    restored = ModelCheckpoint(tmp_path).load()
    assert restored is not None
    assert restored.bandit.updates == models.bandit.updates == {"emea": 41}
    assert restored.bandit.table("emea").rows == table.rows
    assert [restored.bandit.pick("emea", key) for key in range(64)] == [
        models.bandit.pick("emea", key) for key in range(64)
    ]
    assert restored.prior.view().order == view.order and restored.prior.version == models.prior.version
    for _ in range(8):  # and both redraw alike once the posterior moves
        for bandit in (models.bandit, restored.bandit):
            bandit.update("emea", "push", 1.0)
    assert restored.bandit.table("emea").rows == models.bandit.table("emea").rows != table.rows


class _OlderPickler(pickle.Pickler):
    """Pickles as a worker from before picks, views and view refreshes did: without those attributes."""

    DROPPED: ClassVar[dict[type, tuple[str, ...]]] = {
        ThompsonBandit: ("updates", "tables", "seed"),
        PopulationPrior: ("version", "_view", "_view_mass", "_unchecked"),
        ModelSet: ("view_refresh", "_stale"),
    }

    def reducer_override(self, obj: Any) -> Any:
        dropped = self.DROPPED.get(type(obj))
        if dropped is None:
            return NotImplemented
        state = {name: value for name, value in obj.__getstate__().items() if name not in dropped}
        return copyreg.__newobj__, (type(obj),), state  # type: ignore[attr-defined]


def test_a_checkpoint_from_before_picks_and_views_still_loads(tmp_path) -> None:
    models = _trained(10)
    checkpoint = ModelCheckpoint(tmp_path)
    checkpoint.directory.mkdir(parents=True)
    with checkpoint.path.open("wb") as file:
        _OlderPickler(file).dump({"format": CHECKPOINT_FORMAT, "saved_at": 1.0, "models": models})
    restored = checkpoint.load()
    assert restored is not None
    assert restored.bandit.pick("emea", 5)[0] in ("email", "sms", "push")
    assert restored.prior.version == 0 and len(restored.prior.view().order) == 168
    restored.prior.record(3, 1.0, 2_000)


def _attributes(instance: object) -> set[str]:
    """The instance's attribute names, interpreted or compiled by mypyc (no ``__dict__``, a list instead)."""
    compiled = getattr(type(instance), "__mypyc_attrs__", None)
    return set(compiled) - {"__dict__"} if compiled is not None else set(vars(instance))


@pytest.mark.parametrize("cls", [ModelSet, ThompsonBandit, PopulationPrior])
def test_each_class_pickles_every_attribute_but_its_caches(cls: type) -> None:
    """A class's PICKLED names are what a checkpoint keeps: an attribute added without them would be lost."""
    instance = _trained(10) if cls is ModelSet else cls()
    caches = {"_views"} if cls is ModelSet else set()
    assert _attributes(instance) - caches == set(cls.PICKLED)  # type: ignore[attr-defined]


def test_a_prior_view_pickles_as_what_it_was_made_of() -> None:
    view = PriorView(7, [float(hour % 5) for hour in range(168)])
    view.single[("3", 1.0, 24)] = [1, 2]
    copy = pickle.loads(pickle.dumps(view))
    made = ("version", "shares", "curve", "order")
    assert [getattr(copy, name) for name in made] == [getattr(view, name) for name in made]
    assert copy.single == {}  # a cache


def test_a_checkpoint_missing_an_attribute_is_unreadable_not_a_crash(tmp_path) -> None:
    checkpoint = ModelCheckpoint(tmp_path)
    checkpoint.directory.mkdir(parents=True)
    state = {name: value for name, value in _trained(10).__getstate__().items() if name != "models"}

    class Incomplete(pickle.Pickler):
        def reducer_override(self, obj: Any) -> Any:
            if type(obj) is ModelSet:
                return copyreg.__newobj__, (ModelSet,), state  # type: ignore[attr-defined]
            return NotImplemented

    with checkpoint.path.open("wb") as file:
        Incomplete(file).dump({"format": CHECKPOINT_FORMAT, "saved_at": 1.0, "models": _trained(10)})
    with pytest.raises(CheckpointError, match="unreadable"):
        checkpoint.load()


def test_a_snapshot_older_than_the_saved_one_is_not_renamed_over_it(tmp_path) -> None:
    """The periodic save writes in a thread; a final save on the event loop can finish first. The older
    snapshot, finishing later, is dropped instead of replacing the newer one."""
    checkpoint = ModelCheckpoint(tmp_path)
    older = checkpoint.serialize(_trained(10), now=1.0)
    checkpoint.save(_trained(20), now=2.0)
    newer = checkpoint.path.read_bytes()
    checkpoint.write(older, now=1.0)
    assert checkpoint.path.read_bytes() == newer
    assert [p.name for p in checkpoint.directory.iterdir()] == ["models.pkl"]


def test_the_temp_files_of_interrupted_saves_are_removed(tmp_path) -> None:
    checkpoint = ModelCheckpoint(tmp_path)
    checkpoint.save(_trained(10), now=1.0)
    (checkpoint.directory / ".models.pkl.k3j2x1").write_bytes(b"half a pickle")  # a kill -9 mid-write
    assert checkpoint.remove_leftovers() == 1
    assert [p.name for p in checkpoint.directory.iterdir()] == ["models.pkl"]
    assert checkpoint.load() is not None
