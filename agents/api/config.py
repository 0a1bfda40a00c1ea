"""What the API needs beyond the worker's Settings: the token, where to listen, request limits, the
trial caps and the analytics endpoint.

Built once at start-up from an environment mapping handed in by the caller (never read deep inside):
- SWITCHYARD_API_TOKEN: when set, every request (but /healthz, the builder's static files and a public
  /metrics) needs `Authorization: Bearer <token>`;
- SWITCHYARD_WEB_BIND (127.0.0.1): the address the web server listens on; anything but loopback needs a token;
- SWITCHYARD_API_ALLOWED_HOSTS, SWITCHYARD_API_ALLOWED_ORIGINS: comma-separated extra `Host` names and
  browser origins (`https://ops.example.com`) to accept; loopback names and our own origin always pass;
- SWITCHYARD_METRICS_PUBLIC (off): `on` serves /metrics without the token;
- SWITCHYARD_API_MAX_BODY_BYTES (1 MiB): larger request bodies get 413;
- SWITCHYARD_API_REQUEST_TIMEOUT (30 s): longer requests get 504;
- SWITCHYARD_API_MAX_BATCH (1000): most events in one POST /v1/events;
- SWITCHYARD_SEGMENT_WRITE_KEYS: comma-separated write keys the Segment-compatible routes accept (none: off);
- SWITCHYARD_UNSUBSCRIBE_SECRET: signs and checks one-click unsubscribe links (the email sink's too);
- SWITCHYARD_TEMPLATES (examples/templates): the email template files previews and test sends render (the
  sinks' too);
- SWITCHYARD_SMTP_* (as the email sink reads them): test sends of email nodes go through them (none: test
  sends are refused);
- SWITCHYARD_HOOKS: a YAML file of inbound webhook sources (agents/api/hooks.py; none: no sources);
- SWITCHYARD_TRIAL_* caps for simulate and backtest (TrialLimits);
- SWITCHYARD_ANALYTICS_URL, else http://127.0.0.1:$SWITCHYARD_ANALYTICS_PORT (6067; 0 = none): the
  analytics writer's report endpoint, for stats and backtests.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from agents.api.exceptions import ApiConfigError
from agents.api.hooks import HookSource, load_sources
from agents.settings import analytics_port, env_float, env_int
from sinks.settings import SmtpSettings, smtp_from_env

UI_DIST = Path(__file__).resolve().parents[2] / "ui" / "dist"


@dataclass(frozen=True)
class TrialLimits:
    """Caps on one simulate or backtest: refused up front (400) or stopped when reached (422)."""

    max_horizon_ms: int = 90 * 86_400_000
    max_contacts: int = 1_000
    max_events: int = 50_000
    max_steps: int = 200_000  # engine steps: events played plus timers fired
    max_actions: int = 20_000
    wall_time_s: float = 10.0


@dataclass(frozen=True)
class ApiConfig:
    token: str | None = None
    bind: str = "127.0.0.1"
    allowed_hosts: frozenset[str] = frozenset()
    allowed_origins: frozenset[str] = frozenset()
    metrics_public: bool = False
    max_body_bytes: int = 1_048_576
    request_timeout_s: float = 30.0
    max_batch_events: int = 1000
    analytics_url: str | None = "http://127.0.0.1:6067"
    ui_dir: Path = UI_DIST
    templates_dir: Path = Path("examples/templates")
    segment_write_keys: frozenset[str] = frozenset()
    hooks: Mapping[str, HookSource] = field(default_factory=dict)
    unsubscribe_secret: str | None = None
    write_timeout_s: float = 10.0  # how long a catalog write waits to see itself in the worker's cache
    trials: TrialLimits = field(default_factory=TrialLimits)
    smtp: SmtpSettings | None = None

    def __post_init__(self) -> None:
        if not self.token and not is_loopback(self.bind):
            raise ApiConfigError(
                f"refusing to listen on {self.bind!r} without SWITCHYARD_API_TOKEN: "
                "set a token, or bind to 127.0.0.1"
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ApiConfig:
        port = analytics_port(env)
        analytics = env.get("SWITCHYARD_ANALYTICS_URL") or (f"http://127.0.0.1:{port}" if port else None)
        base = TrialLimits()
        return cls(
            token=env.get("SWITCHYARD_API_TOKEN") or None,
            bind=env.get("SWITCHYARD_WEB_BIND") or cls.bind,
            allowed_hosts=_names(env.get("SWITCHYARD_API_ALLOWED_HOSTS")),
            allowed_origins=_origins(env.get("SWITCHYARD_API_ALLOWED_ORIGINS")),
            metrics_public=_switch(env, "SWITCHYARD_METRICS_PUBLIC"),
            max_body_bytes=env_int(env, "SWITCHYARD_API_MAX_BODY_BYTES", cls.max_body_bytes),
            request_timeout_s=env_float(env, "SWITCHYARD_API_REQUEST_TIMEOUT", cls.request_timeout_s),
            max_batch_events=env_int(env, "SWITCHYARD_API_MAX_BATCH", cls.max_batch_events),
            analytics_url=analytics,
            segment_write_keys=_secrets(env.get("SWITCHYARD_SEGMENT_WRITE_KEYS")),
            unsubscribe_secret=env.get("SWITCHYARD_UNSUBSCRIBE_SECRET") or None,
            templates_dir=Path(env.get("SWITCHYARD_TEMPLATES") or cls.templates_dir),
            hooks=load_sources(Path(env["SWITCHYARD_HOOKS"]), env) if env.get("SWITCHYARD_HOOKS") else {},
            trials=TrialLimits(
                max_horizon_ms=env_int(env, "SWITCHYARD_TRIAL_MAX_HORIZON_MS", base.max_horizon_ms),
                max_contacts=env_int(env, "SWITCHYARD_TRIAL_MAX_CONTACTS", base.max_contacts),
                max_events=env_int(env, "SWITCHYARD_TRIAL_MAX_EVENTS", base.max_events),
                max_steps=env_int(env, "SWITCHYARD_TRIAL_MAX_STEPS", base.max_steps),
                max_actions=env_int(env, "SWITCHYARD_TRIAL_MAX_ACTIONS", base.max_actions),
                wall_time_s=env_float(env, "SWITCHYARD_TRIAL_WALL_TIME", base.wall_time_s),
            ),
            smtp=smtp_from_env(env),
        )


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _names(raw: str | None) -> frozenset[str]:
    return frozenset(part.strip().lower() for part in (raw or "").split(",") if part.strip())


def _secrets(raw: str | None) -> frozenset[str]:
    """Comma-separated secrets, case kept."""
    return frozenset(part.strip() for part in (raw or "").split(",") if part.strip())


def _origins(raw: str | None) -> frozenset[str]:
    return frozenset(origin.rstrip("/") for origin in _names(raw))


def _switch(env: Mapping[str, str], name: str) -> bool:
    raw = (env.get(name) or "off").strip().lower()
    if raw not in ("on", "off", "1", "0", "true", "false"):
        raise ApiConfigError(f"{name}={raw!r} must be on or off")
    return raw in ("on", "1", "true")
