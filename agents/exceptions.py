"""Errors of the agents package."""


class WorkerConfigError(RuntimeError):
    """The worker cannot start with the settings it was given."""
