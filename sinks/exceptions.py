"""Errors of the action sinks: start-up configuration problems and the two kinds of delivery failure."""

from __future__ import annotations

from typing import Any


class SinkError(Exception):
    """Base class of the sinks' errors."""


class SinkConfigError(SinkError):
    """A channel cannot start: a setting is missing or unusable. The message says what to set."""


class DeliveryFailed(SinkError):
    """One attempt at an action failed. Subclasses say whether trying again can help."""

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}  # extra outcome properties, e.g. the HTTP status

    def __str__(self) -> str:
        return self.message


class RetryableFailure(DeliveryFailed):
    """A failure that may pass: a timeout, a 5xx, a 408/429, a transient SMTP 4xx.

    ``retry_after_s`` is the peer's own hint (HTTP Retry-After), honoured up to a cap.
    """

    def __init__(
        self, message: str, retry_after_s: float | None = None, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message, details)
        self.retry_after_s = retry_after_s


class PermanentFailure(DeliveryFailed):
    """A failure that trying again cannot fix: a 4xx, a refused target, a missing template.

    ``outcome`` names the outcome event when it is not the channel's usual failure event (an SMTP 5xx
    rejection is ``email.bounced``); ``dead_letter`` is False for failures that are a normal answer
    (a bounce) rather than something for an operator to look at.
    """

    def __init__(
        self,
        message: str,
        outcome: str | None = None,
        dead_letter: bool = True,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, details)
        self.outcome = outcome
        self.dead_letter = dead_letter


class TargetRefused(PermanentFailure):
    """The target address is not allowed (host not on the allowlist, or a private address: SSRF guard)."""


class MalformedAction(PermanentFailure):
    """An action record that is not JSON, or lacks the fields every action has."""
