"""Checkpoints of a worker's ModelSet: pickled under ``<data dir>/ml/``, atomically.

One model set per worker, learning from the labels of the partitions it owns. It is saved every
``every_s`` seconds and on shutdown, and loaded on start; a save writes a temp file in the same
directory, fsyncs it and renames it over the old one, so a crash leaves either the old or the new
checkpoint, never half of one.

Trade-off: contact state is exact (changelogged per event), models are not. A crash loses at most
``every_s`` of learning; the labels it learned from in that time are gone from the contacts' pending
lists, so they are not learned again. That is acceptable for models that learn continuously (they
drift back within a few hundred labels) and it keeps per-event work free of any model I/O. A shorter
period costs a pickle (~10-100 KB for the linear models, more for forests) per period.

Moving partitions: models are per worker, not per partition, so a rebalance does not need to move
them, but a new or restarted worker should not start from chance. The way to share them is a compacted
topic ``<app id>-ml-models`` keyed by worker id (or by model name for a single shared model): each
worker publishes its pickled snapshot after every checkpoint; a worker starting without a local
checkpoint reads the topic to its end and starts from the newest snapshot (or the one with the most
labels learned), then goes on learning from its own partitions. Compaction keeps one snapshot per key,
so the topic stays small. This module only writes files; the topic is left to the runtime.
"""

from __future__ import annotations

import os
import pickle
import tempfile
import threading
from pathlib import Path
from typing import Any

from ml.exceptions import CheckpointError
from ml.models import ModelSet

CHECKPOINT_FORMAT = 1
# What unpickling a damaged or foreign checkpoint raises. TypeError: a class compiled by mypyc that a
# checkpoint from before ml/attributes.py would make without its constructor's arguments.
UNREADABLE = (pickle.UnpicklingError, EOFError, AttributeError, ImportError, KeyError, TypeError, ValueError)
DEFAULT_PERIOD_S = 300.0


class ModelCheckpoint:
    """Saves and restores one ModelSet at ``<data_dir>/ml/<name>.pkl``. Time comes in as arguments."""

    def __init__(self, data_dir: Path, name: str = "models", every_s: float = DEFAULT_PERIOD_S) -> None:
        self.directory = Path(data_dir) / "ml"
        self.path = self.directory / f"{name}.pkl"
        self.every_s = every_s
        self.last_saved: float | None = None
        # The periodic save writes in a thread and the final one on the event loop: the lock orders their
        # renames, and a snapshot older than the one in place is dropped, not renamed over it.
        self._replacing = threading.Lock()

    def save(self, models: ModelSet, now: float) -> Path:
        """Write ``models`` atomically (temp file, fsync, rename); ``now`` is the caller's clock (s)."""
        return self.write(self.serialize(models, now), now)

    @staticmethod
    def serialize(models: ModelSet, now: float) -> bytes:
        """The checkpoint's bytes: a consistent snapshot, taken where nothing else changes the models
        (the worker's event loop), so that ``write`` can run in another thread."""
        payload = {"format": CHECKPOINT_FORMAT, "saved_at": now, "models": models}
        return pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)

    def write(self, data: bytes, now: float) -> Path:
        """Write serialized ``data`` atomically (temp file, fsync, rename)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        handle, temp_name = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.directory)
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            with self._replacing:
                if self.last_saved is not None and now < self.last_saved:
                    Path(temp_name).unlink()
                    return self.path
                os.replace(temp_name, self.path)
                self.last_saved = now
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise
        directory = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(directory)  # the rename itself survives a crash
        finally:
            os.close(directory)
        return self.path

    def remove_leftovers(self) -> int:
        """Delete the temp files of saves a crash interrupted; how many. Call before the first save."""
        removed = 0
        for leftover in self.directory.glob(f".{self.path.name}.*"):
            leftover.unlink(missing_ok=True)
            removed += 1
        return removed

    def due(self, now: float) -> bool:
        """True when the period has passed since the last save (or nothing was saved yet)."""
        return self.last_saved is None or now - self.last_saved >= self.every_s

    def maybe_save(self, models: ModelSet, now: float) -> bool:
        """Save when due; True if it saved."""
        if not self.due(now):
            return False
        self.save(models, now)
        return True

    def load(self) -> ModelSet | None:
        """The saved ModelSet, or None when there is none; CheckpointError when it cannot be read."""
        try:
            with self.path.open("rb") as file:
                payload: Any = pickle.load(file)
        except FileNotFoundError:
            return None
        except UNREADABLE as exc:
            raise CheckpointError(f"{self.path}: unreadable checkpoint ({exc})") from exc
        if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
            raise CheckpointError(f"{self.path}: not a format-{CHECKPOINT_FORMAT} model checkpoint")
        models = payload.get("models")
        if not isinstance(models, ModelSet):
            raise CheckpointError(f"{self.path}: the checkpoint holds no ModelSet")
        return models
