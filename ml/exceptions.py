"""Errors raised by the ml package: bad configuration, unreadable checkpoints, bad inputs."""

from __future__ import annotations


class MLError(Exception):
    """Base class of every ml error."""


class MLConfigError(MLError, ValueError):
    """A configuration that cannot work (a threshold outside 0..1, an unknown model kind, no channels)."""


class CheckpointError(MLError):
    """A checkpoint file exists but cannot be read back (corrupt, or written by an incompatible layout)."""


class UnknownArmError(MLError, KeyError):
    """A bandit update named a channel the bandit does not know."""
