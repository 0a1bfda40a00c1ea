"""Errors of the table layer."""


class StateDecodeError(ValueError):
    """Stored state bytes that are not a state we know how to read."""


class StateVersionError(StateDecodeError):
    """State written by a newer Switchyard than this one."""
