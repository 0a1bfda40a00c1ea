"""Errors raised by the load-test pieces (generator, oracle, report)."""

from __future__ import annotations


class LoadtestError(Exception):
    """Base class of every load-test error."""


class GeneratorConfigError(LoadtestError, ValueError):
    """A traffic specification that cannot be generated (bad numbers, too few events per contact)."""
