"""Errors of the agents package."""


class WorkerConfigError(RuntimeError):
    """The worker cannot start with the settings it was given."""


class DeliveryFailed(RuntimeError):
    """Records of a batch that Kafka did not acknowledge: the batch's offsets must not be committed."""


class NotStarted(RuntimeError):
    """A service of the worker was used before it started (or after it stopped)."""
