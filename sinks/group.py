"""The consumer group timeouts of our own aiokafka consumers (the sinks, the analytics writer)."""

from __future__ import annotations

# How long a consumer group waits for a silent member, unless SWITCHYARD_SESSION_TIMEOUT says otherwise: the
# worker's (agents/settings.py), the sinks' and the analytics writer's.
DEFAULT_SESSION_TIMEOUT_S = 10.0
HEARTBEATS_PER_SESSION = 3  # Kafka's advice: a heartbeat at most a third of the session timeout


def group_timeouts(session_timeout_s: float) -> dict[str, int]:
    """aiokafka consumer options: the group gives a silent member's partitions away after
    ``session_timeout_s``; heartbeats go often enough that a few can be missed first."""
    session_ms = int(session_timeout_s * 1000)
    return {"session_timeout_ms": session_ms, "heartbeat_interval_ms": session_ms // HEARTBEATS_PER_SESSION}
