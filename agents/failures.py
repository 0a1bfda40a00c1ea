"""What can go wrong while one contact's events are processed, as a stable dead-letter reason.

Every failure inside a contact's processing (the engine, scoring, encoding the state, an output record
too large to ever be delivered) becomes a ContactFailure with a reason code; the processor dead-letters
the events it concerns and keeps the contact's previous state. Infrastructure faults (Kafka not
acknowledging a record) are not contact failures: they fail the whole batch (agents/exceptions.py).
"""

from __future__ import annotations

from engine.templates import TemplateError
from tables.exceptions import StateTooLarge, StateUnencodable

PROCESSING_ERROR = "processing_error"  # the engine raised
TEMPLATE_ERROR = "template_error"  # a template failed outside the engine's own handling
SCORING_ERROR = "scoring_error"  # the predictive models raised
CORRUPT_STATE = "corrupt_state"  # the stored state row cannot be read
STATE_TOO_LARGE = "state_too_large"  # past tables.codec.StateLimits
STATE_UNENCODABLE = "state_unencodable"  # orjson cannot write the state
RECORD_TOO_LARGE = "record_too_large"  # an action or step record over the output record limit

PROCESSING_REASONS = (
    PROCESSING_ERROR, TEMPLATE_ERROR, SCORING_ERROR, CORRUPT_STATE, STATE_TOO_LARGE, STATE_UNENCODABLE,
    RECORD_TOO_LARGE,
)  # fmt: skip


class ContactFailure(Exception):
    """One event (or the contact's whole batch) could not be processed; `reason` is a stable code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def as_failure(exc: BaseException, default: str = PROCESSING_ERROR) -> ContactFailure:
    """The ContactFailure an exception raised while processing a contact stands for."""
    if isinstance(exc, ContactFailure):
        return exc
    detail = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, StateTooLarge):
        return ContactFailure(STATE_TOO_LARGE, str(exc))
    if isinstance(exc, StateUnencodable):
        return ContactFailure(STATE_UNENCODABLE, str(exc))
    if isinstance(exc, TemplateError):
        return ContactFailure(TEMPLATE_ERROR, detail)
    return ContactFailure(default, detail)
