"""The sinks' settings: one frozen object built at the front door from the environment and passed down.

``SinkSettings.from_env(env, ...)`` takes the environment as an argument; nothing in ``sinks/`` reads
``os.environ`` itself. Every variable is listed in docs/sinks.md.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from sinks.exceptions import SinkConfigError
from sinks.group import DEFAULT_SESSION_TIMEOUT_S
from sinks.signing import parse_secrets

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", ""})


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently one action is tried before it is dead-lettered."""

    max_attempts: int = 5
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    max_retry_after_s: float = 60.0  # a peer's Retry-After is honoured up to this


@dataclass(frozen=True)
class WebhookSettings:
    secret: str | None = None  # whsec_... secrets, newest first, space-separated while rotating
    allow_hosts: tuple[str, ...] = ()  # empty: any host (still subject to the private-address guard)
    allow_private: bool = False  # loopback, private and link-local targets; for tests and local setups
    connect_timeout_s: float = 5.0
    total_timeout_s: float = 15.0
    endpoints: Mapping[str, str] = field(default_factory=dict)  # named endpoints: params.endpoint -> URL
    endpoint_secrets: Mapping[str, str] = field(default_factory=dict)  # a named endpoint's own secrets


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 25
    user: str | None = None
    password: str | None = None
    sender: str = "switchyard@localhost"
    starttls: bool = False
    use_tls: bool = False
    timeout_s: float = 30.0
    connections: int = 4  # kept open and reused
    allow_plain_auth: bool = False  # log in without TLS: only by explicit opt-in

    def __post_init__(self) -> None:
        if self.user and not (self.starttls or self.use_tls or self.allow_plain_auth):
            raise SinkConfigError(
                "SMTP login without TLS refused: keep SWITCHYARD_SMTP_STARTTLS on (the default with a user), "
                "use SWITCHYARD_SMTP_TLS, or opt in with SWITCHYARD_SMTP_PLAIN_AUTH=true"
            )


@dataclass(frozen=True)
class ProviderSettings:
    """An HTTP endpoint that sends SMS or push messages for us, with bearer authentication."""

    url: str
    token: str | None = None


@dataclass(frozen=True)
class SinkSettings:
    bootstrap: str
    app_id: str
    topic_prefix: str
    data_dir: Path
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    default_rate_per_s: float = 0.0  # 0: unlimited
    rate_per_s: Mapping[str, float] = field(default_factory=dict)  # per channel, overrides the default
    rate_burst: int = 10
    in_flight_per_partition: int = 16
    commit_interval_s: float = 0.2
    # the sink's consumer group, as the worker's (SWITCHYARD_SESSION_TIMEOUT)
    session_timeout_s: float = DEFAULT_SESSION_TIMEOUT_S
    webhook: WebhookSettings = field(default_factory=WebhookSettings)
    smtp: SmtpSettings | None = None
    unsubscribe_url: str | None = None  # may contain {contact_id}, {action_id} and {token}
    unsubscribe_secret: str | None = None  # signs {token}; the worker's API checks it (same setting)
    templates_dir: Path = Path("examples/templates")
    sms: ProviderSettings | None = None
    push: ProviderSettings | None = None
    teams: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    user_emails: Mapping[str, str] = field(default_factory=dict)
    user_email_domain: str | None = None
    notify_via: str = "email"  # or "webhook"
    notify_url: str | None = None
    crm_url: str | None = None
    signature_url: str | None = None
    # Each destination signs with its own secrets (sinks/signing.py); the webhook channel's are in `webhook`.
    crm_secret: str | None = None
    notify_secret: str | None = None
    signature_secret: str | None = None

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"

    def secrets_for(self, destination: str) -> tuple[str, ...]:
        """The signing secrets of "webhook", "endpoint:<name>", "crm", "notify" or "signature"; a named
        webhook endpoint without secrets of its own uses the webhook channel's."""
        if destination.startswith("endpoint:"):
            own = self.webhook.endpoint_secrets.get(destination.split(":", 1)[1])
            return parse_secrets(own) if own else parse_secrets(self.webhook.secret)
        raw = {"webhook": self.webhook.secret, "crm": self.crm_secret, "notify": self.notify_secret,
               "signature": self.signature_secret}[destination]  # fmt: skip
        return parse_secrets(raw)

    def require_secrets(self, destination: str, variable: str) -> tuple[str, ...]:
        secrets = self.secrets_for(destination)
        if not secrets:
            raise SinkConfigError(f"{destination}: no signing secret: set {variable} (whsec_...)")
        return secrets

    def group_id(self, channel: str) -> str:
        return f"{self.app_id}-sink-{channel}"

    def store_dir(self, channel: str) -> Path:
        return self.data_dir / "sinks" / channel

    @property
    def documents_dir(self) -> Path:
        return self.data_dir / "documents"

    def rate_for(self, channel: str) -> float:
        return self.rate_per_s.get(channel, self.default_rate_per_s)

    def with_(self, **changes: object) -> SinkSettings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str],
        bootstrap: str,
        app_id: str,
        topic_prefix: str,
        data_dir: Path,
        session_timeout_s: float,
    ) -> SinkSettings:
        from sinks.channels import CHANNELS

        return cls(
            bootstrap=bootstrap,
            app_id=app_id,
            topic_prefix=topic_prefix,
            data_dir=data_dir,
            session_timeout_s=session_timeout_s,
            retry=RetryPolicy(
                max_attempts=_int(env, "SWITCHYARD_SINK_ATTEMPTS", 5, minimum=1),
                base_delay_s=_float(env, "SWITCHYARD_SINK_BACKOFF", 0.5),
                max_delay_s=_float(env, "SWITCHYARD_SINK_BACKOFF_MAX", 30.0),
                max_retry_after_s=_float(env, "SWITCHYARD_SINK_RETRY_AFTER_MAX", 60.0),
            ),
            default_rate_per_s=_float(env, "SWITCHYARD_SINK_RATE", 0.0),
            rate_per_s={
                channel: _float(env, f"SWITCHYARD_SINK_RATE_{channel.upper()}", 0.0)
                for channel in CHANNELS
                if env.get(f"SWITCHYARD_SINK_RATE_{channel.upper()}")
            },
            rate_burst=_int(env, "SWITCHYARD_SINK_BURST", 10, minimum=1),
            in_flight_per_partition=_int(env, "SWITCHYARD_SINK_IN_FLIGHT", 16, minimum=1),
            webhook=WebhookSettings(
                secret=env.get("SWITCHYARD_WEBHOOK_SECRET") or None,
                allow_hosts=tuple(
                    h.strip().lower() for h in _split(env, "SWITCHYARD_WEBHOOK_ALLOW_HOSTS", ",")
                ),
                allow_private=_bool(env, "SWITCHYARD_WEBHOOK_ALLOW_PRIVATE"),
                connect_timeout_s=_float(env, "SWITCHYARD_WEBHOOK_CONNECT_TIMEOUT", 5.0),
                total_timeout_s=_float(env, "SWITCHYARD_WEBHOOK_TIMEOUT", 15.0),
                endpoints=_pairs(env, "SWITCHYARD_WEBHOOK_ENDPOINTS"),
                endpoint_secrets=_pairs(env, "SWITCHYARD_WEBHOOK_ENDPOINT_SECRETS"),
            ),
            smtp=smtp_from_env(env),
            unsubscribe_url=env.get("SWITCHYARD_UNSUBSCRIBE_URL") or None,
            unsubscribe_secret=env.get("SWITCHYARD_UNSUBSCRIBE_SECRET") or None,
            templates_dir=Path(env.get("SWITCHYARD_TEMPLATES") or "examples/templates"),
            sms=_provider(env, "SMS"),
            push=_provider(env, "PUSH"),
            teams=_teams(env),
            user_emails=_pairs(env, "SWITCHYARD_USERS"),
            user_email_domain=env.get("SWITCHYARD_USER_EMAIL_DOMAIN") or None,
            notify_via=_choice(env, "SWITCHYARD_NOTIFY_VIA", "email", ("email", "webhook")),
            notify_url=env.get("SWITCHYARD_NOTIFY_URL") or None,
            crm_url=env.get("SWITCHYARD_CRM_URL") or None,
            signature_url=env.get("SWITCHYARD_SIGNATURE_URL") or None,
            crm_secret=env.get("SWITCHYARD_CRM_SECRET") or None,
            notify_secret=env.get("SWITCHYARD_NOTIFY_SECRET") or None,
            signature_secret=env.get("SWITCHYARD_SIGNATURE_SECRET") or None,
        ).checked()

    def checked(self) -> SinkSettings:
        """Self, once every configured secret parses (a bad one fails at start, not at the first send)."""
        for raw in (self.webhook.secret, self.crm_secret, self.notify_secret, self.signature_secret,
                    *self.webhook.endpoint_secrets.values()):  # fmt: skip
            parse_secrets(raw)
        return self


def parse_teams(text: str) -> dict[str, tuple[str, ...]]:
    """``"sales=ana,ben;legal=li"`` -> {"sales": ("ana", "ben"), "legal": ("li",)}."""
    teams: dict[str, tuple[str, ...]] = {}
    for name, members in _pair_items(text, "SWITCHYARD_TEAMS"):
        people = tuple(m.strip() for m in members.split(",") if m.strip())
        if not people:
            raise SinkConfigError(f"SWITCHYARD_TEAMS: team {name!r} has no members")
        teams[name] = people
    return teams


def _teams(env: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    teams: dict[str, tuple[str, ...]] = {}
    path = env.get("SWITCHYARD_TEAMS_FILE")
    if path:
        try:
            loaded = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise SinkConfigError(f"SWITCHYARD_TEAMS_FILE={path!r}: {exc}") from None
        if not isinstance(loaded, dict) or not all(
            isinstance(v, list) and v and all(isinstance(m, str) for m in v) for v in loaded.values()
        ):
            raise SinkConfigError(f"SWITCHYARD_TEAMS_FILE={path!r}: expected {{team: [member, ...]}}")
        teams.update({str(name): tuple(members) for name, members in loaded.items()})
    teams.update(parse_teams(env.get("SWITCHYARD_TEAMS", "")))
    return teams


def smtp_from_env(env: Mapping[str, str]) -> SmtpSettings | None:
    """SWITCHYARD_SMTP_* (None without a host): for the email sink, and for the API's test sends."""
    host = env.get("SWITCHYARD_SMTP_HOST")
    if not host:
        return None
    user = env.get("SWITCHYARD_SMTP_USER") or None
    use_tls = _bool(env, "SWITCHYARD_SMTP_TLS")
    # With a login, STARTTLS is on unless turned off (and then SWITCHYARD_SMTP_PLAIN_AUTH must say so).
    starttls = _bool(env, "SWITCHYARD_SMTP_STARTTLS") if env.get("SWITCHYARD_SMTP_STARTTLS") else bool(user)
    return SmtpSettings(
        host=host,
        port=_int(env, "SWITCHYARD_SMTP_PORT", 25, minimum=1),
        user=user,
        password=env.get("SWITCHYARD_SMTP_PASSWORD") or None,
        sender=env.get("SWITCHYARD_SMTP_FROM") or "switchyard@localhost",
        starttls=starttls and not use_tls,
        use_tls=use_tls,
        allow_plain_auth=_bool(env, "SWITCHYARD_SMTP_PLAIN_AUTH"),
        timeout_s=_float(env, "SWITCHYARD_SMTP_TIMEOUT", 30.0),
        connections=_int(env, "SWITCHYARD_SMTP_CONNECTIONS", 4, minimum=1),
    )


def _provider(env: Mapping[str, str], kind: str) -> ProviderSettings | None:
    url = env.get(f"SWITCHYARD_{kind}_URL")
    if not url:
        return None
    return ProviderSettings(url=url, token=env.get(f"SWITCHYARD_{kind}_TOKEN") or None)


def _split(env: Mapping[str, str], name: str, sep: str) -> list[str]:
    return [part for part in env.get(name, "").split(sep) if part.strip()]


def _pair_items(text: str, name: str) -> list[tuple[str, str]]:
    items = []
    for part in text.split(";"):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise SinkConfigError(f"{name}: {part.strip()!r} is not NAME=VALUE")
        items.append((key.strip(), value.strip()))
    return items


def _pairs(env: Mapping[str, str], name: str) -> dict[str, str]:
    return dict(_pair_items(env.get(name, ""), name))


def _bool(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in TRUE_WORDS:
        return True
    if raw in FALSE_WORDS:
        return False
    raise SinkConfigError(f"{name}={raw!r} must be true or false")


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SinkConfigError(f"{name}={raw!r} is not a whole number") from None
    if value < minimum:
        raise SinkConfigError(f"{name}={raw!r} must be at least {minimum}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SinkConfigError(f"{name}={raw!r} is not a number") from None
    if value < 0:
        raise SinkConfigError(f"{name}={raw!r} cannot be negative")
    return value


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = (env.get(name) or default).lower()
    if raw not in choices:
        raise SinkConfigError(f"{name}={raw!r} must be one of: {', '.join(choices)}")
    return raw
