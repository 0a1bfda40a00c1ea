"""Capped exponential backoff with deterministic jitter.

The jitter is a hash of the action id and the attempt, never a random draw: a replay waits the same
times, and many actions failing together still spread out because their ids differ.
"""

from __future__ import annotations

import hashlib

from sinks.settings import RetryPolicy


def jitter_fraction(action_id: str, attempt: int) -> float:
    """A number in [0, 1) fixed by (action_id, attempt)."""
    digest = hashlib.sha256(f"{action_id}:{attempt}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def retry_delay_s(
    policy: RetryPolicy, action_id: str, attempt: int, retry_after_s: float | None = None
) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based).

    The exponential step is ``base * 2**(attempt-1)`` capped at ``max_delay_s``; the wait is between half
    of it and all of it ("equal jitter"). A peer's Retry-After replaces it, capped at ``max_retry_after_s``.
    """
    if retry_after_s is not None:
        return max(0.0, min(retry_after_s, policy.max_retry_after_s))
    step = min(policy.max_delay_s, policy.base_delay_s * 2.0 ** min(attempt - 1, 62))
    return step / 2 + step / 2 * jitter_fraction(action_id, attempt)


def worst_case_retry_s(policy: RetryPolicy) -> float:
    """The longest an action can spend waiting between attempts (Retry-After aside)."""
    return sum(
        min(policy.max_delay_s, policy.base_delay_s * 2.0 ** (n - 1)) for n in range(1, policy.max_attempts)
    )
