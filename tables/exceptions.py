"""Errors of the table layer."""


class StateDecodeError(ValueError):
    """Stored state bytes that are not a state we know how to read."""


class StateVersionError(StateDecodeError):
    """State written by a newer Switchyard than this one."""


class StateTooLarge(ValueError):
    """A state past the per-contact limits (tables.codec.StateLimits)."""


class StateUnencodable(ValueError):
    """A state orjson cannot write (e.g. nested past 255 levels)."""
