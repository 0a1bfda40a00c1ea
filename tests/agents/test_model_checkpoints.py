"""The worker's periodic model save: a disk that refuses the write costs that save, not the worker (Faust
stops the app when a timer raises)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agents.scoring import Predictions


def test_a_failed_periodic_save_is_counted_and_the_next_one_succeeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    predictions = Predictions(tmp_path)

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("ml.checkpoint.os.fsync", full_disk)
    asyncio.run(predictions.checkpoint())
    assert predictions.failed_checkpoints == 1
    assert not predictions.checkpoint_file.path.exists()

    monkeypatch.undo()
    asyncio.run(predictions.checkpoint())
    assert predictions.checkpoint_file.path.exists()
    assert [p.name for p in predictions.checkpoint_file.directory.iterdir()] == ["models.pkl"]
