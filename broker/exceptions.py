"""Errors raised while fetching, starting or stopping the local broker."""


class BrokerError(RuntimeError):
    """One line a person can act on: what is missing or what failed, and where to look."""
