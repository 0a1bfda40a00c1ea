"""Capped exponential backoff for a ClickHouse outage: how long to wait before the next attempt."""

from __future__ import annotations


def outage_delay_s(attempt: int, initial_s: float, max_s: float) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based): initial * 2**(attempt-1), capped."""
    return float(min(max_s, initial_s * 2 ** min(max(attempt - 1, 0), 30)))
