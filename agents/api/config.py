"""What the API needs beyond the worker's Settings: the token, request limits and the analytics endpoint.

Built once at start-up from an environment mapping handed in by the caller (never read deep inside):
- SWITCHYARD_API_TOKEN: when set, every /v1 request (but the OpenAPI document) needs `Bearer <token>`;
- SWITCHYARD_API_MAX_BODY_BYTES (1 MiB): larger request bodies get 413;
- SWITCHYARD_API_MAX_BATCH (1000): most events in one POST /v1/events;
- SWITCHYARD_ANALYTICS_URL, else http://127.0.0.1:$SWITCHYARD_ANALYTICS_PORT (6067; 0 = none): the
  analytics writer's report endpoint, for stats and backtests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

UI_DIST = Path(__file__).resolve().parents[2] / "ui" / "dist"


@dataclass(frozen=True)
class ApiConfig:
    token: str | None = None
    max_body_bytes: int = 1_048_576
    max_batch_events: int = 1000
    analytics_url: str | None = "http://127.0.0.1:6067"
    ui_dir: Path = UI_DIST
    write_timeout_s: float = 10.0  # how long a catalog write waits to see itself in the worker's cache

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ApiConfig:
        port = int(env.get("SWITCHYARD_ANALYTICS_PORT") or "6067")
        analytics = env.get("SWITCHYARD_ANALYTICS_URL") or (f"http://127.0.0.1:{port}" if port else None)
        return cls(
            token=env.get("SWITCHYARD_API_TOKEN") or None,
            max_body_bytes=int(env.get("SWITCHYARD_API_MAX_BODY_BYTES") or cls.max_body_bytes),
            max_batch_events=int(env.get("SWITCHYARD_API_MAX_BATCH") or cls.max_batch_events),
            analytics_url=analytics,
        )
