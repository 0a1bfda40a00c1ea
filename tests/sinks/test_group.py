from __future__ import annotations

from sinks.group import group_timeouts


def test_heartbeats_go_three_times_per_session_timeout() -> None:
    assert group_timeouts(6.0) == {"session_timeout_ms": 6000, "heartbeat_interval_ms": 2000}
    assert group_timeouts(10.0) == {"session_timeout_ms": 10000, "heartbeat_interval_ms": 3333}
