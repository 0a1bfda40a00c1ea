"""Settings for every Switchyard process, read once from the environment at the front door.

Packages never read the environment themselves: the front door builds a Settings and passes it down.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from sinks.analytics.config import WriterConfig
from sinks.group import DEFAULT_SESSION_TIMEOUT_S
from tables.rocksdb_files import DEFAULT_CACHE_MB

DEFAULT_PORT = 9092
DEFAULT_CONTROLLER_PORT = 9093
# The just-in-time compilers of a broker we start (broker/launcher.py): "c1" the quick one only, "tiered"
# the JVM's default (C1, then C2 for hot code).
KAFKA_JITS = ("c1", "tiered")
# The worker heartbeats this often (the sinks and the writer a third of the session timeout, sinks/group.py);
# a session timeout must leave room for a few missed ones.
HEARTBEAT_S = 1.0
MIN_SESSION_TIMEOUT_S = 3 * HEARTBEAT_S
MAX_PORT = 65535


CHECKOUT = Path(__file__).resolve().parents[1]


def default_data_dir() -> Path:
    """`var/` of the checkout this code runs from, whatever the current directory (a command run from a
    subdirectory must find the broker and the state the others use); `./var` when installed elsewhere."""
    if (CHECKOUT / "pyproject.toml").is_file():
        return CHECKOUT / "var"
    return Path("var").resolve()


class SettingsError(ValueError):
    """An environment variable with a value we cannot use."""


@dataclass(frozen=True)
class Settings:
    """Everything a worker, a sink or a command needs to know about its surroundings."""

    # Kafka: when `external_kafka` is set we use that broker and never start our own.
    external_kafka: str | None = None
    kafka_port: int = DEFAULT_PORT
    kafka_controller_port: int = DEFAULT_CONTROLLER_PORT
    kafka_jit: str = KAFKA_JITS[0]
    # Where fetched broker jars live (outside the repo, shared between checkouts).
    cache_dir: Path = field(default_factory=lambda: Path.home() / ".cache" / "switchyard")
    # Worker state (RocksDB tables), broker data and logs.
    data_dir: Path = field(default_factory=lambda: default_data_dir())
    app_id: str = "switchyard"
    topic_prefix: str = ""
    partitions: int = 8
    log_level: str = "info"
    log_format: str = "text"
    web_port: int = 6066
    max_event_bytes: int = 65536
    batch_size: int = 2000
    # Extra wait for a batch to fill once an event is there; 0: none (see README, SWITCHYARD_BATCH_WITHIN).
    batch_within_s: float = 0.0
    ml: bool = True
    # The worker's RocksDB block cache, shared by all its table partitions (tables/rocksdb_files.py).
    state_cache_mb: int = DEFAULT_CACHE_MB
    # Static group membership (Kafka's group.instance.id, one per app id and data dir): a worker restarted
    # on its data dir takes its partitions back at once instead of after the old member's session timeout;
    # the cost is that a worker stopped on purpose keeps them until that timeout (no LeaveGroup is sent).
    static_membership: bool = False
    # How long the group waits for a silent member (kill -9, a lost machine) before giving its partitions to
    # the others: the worker's, the sinks' and the analytics writer's consumer groups. Shorter fails over
    # sooner; too short and a long pause (GC, a slow disk) costs a needless rebalance. The broker must allow
    # it (group.min.session.timeout.ms, 6 s by default).
    session_timeout_s: float = DEFAULT_SESSION_TIMEOUT_S
    # TEST ONLY: the worker's second batch loses its first records of each partition before processing,
    # as faust-streaming's rebalance race can make them (see agents/gaps.py).
    test_skip_records: int = 0

    @property
    def bootstrap(self) -> str:
        return self.external_kafka or f"127.0.0.1:{self.kafka_port}"

    @property
    def broker_dir(self) -> Path:
        return self.data_dir / "kafka"

    @property
    def state_dir(self) -> Path:
        return self.data_dir / "state"

    @property
    def group_instance_id(self) -> str | None:
        """The worker's static member id (None: dynamic membership): the same for the same app id and data
        dir, so a restart on that data dir is the same member, and different for every other worker."""
        if not self.static_membership:
            return None
        return f"{self.app_id}-{zlib.crc32(str(self.data_dir).encode()):08x}"

    def topic(self, name: str) -> str:
        """The full name of one of our topics (tests give each run its own prefix)."""
        return f"{self.topic_prefix}{name}"

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    def to_env(self) -> dict[str, str]:
        """The environment variables that give a child process these same settings."""
        env = {
            "SWITCHYARD_KAFKA_PORT": str(self.kafka_port),
            "SWITCHYARD_KAFKA_CONTROLLER_PORT": str(self.kafka_controller_port),
            "SWITCHYARD_KAFKA_JIT": self.kafka_jit,
            "SWITCHYARD_CACHE": str(self.cache_dir),
            "SWITCHYARD_DATA": str(self.data_dir),
            "SWITCHYARD_APP_ID": self.app_id,
            "SWITCHYARD_TOPIC_PREFIX": self.topic_prefix,
            "SWITCHYARD_PARTITIONS": str(self.partitions),
            "SWITCHYARD_LOG_LEVEL": self.log_level,
            "SWITCHYARD_LOG_FORMAT": self.log_format,
            "SWITCHYARD_WEB_PORT": str(self.web_port),
            "SWITCHYARD_MAX_EVENT_BYTES": str(self.max_event_bytes),
            "SWITCHYARD_BATCH_SIZE": str(self.batch_size),
            "SWITCHYARD_BATCH_WITHIN": str(self.batch_within_s),
            "SWITCHYARD_ML": "on" if self.ml else "off",
            "SWITCHYARD_STATE_CACHE_MB": str(self.state_cache_mb),
            "SWITCHYARD_STATIC_MEMBERSHIP": "on" if self.static_membership else "off",
            "SWITCHYARD_SESSION_TIMEOUT": str(self.session_timeout_s),
            "SWITCHYARD_TEST_SKIP_RECORDS": str(self.test_skip_records),
        }
        if self.external_kafka:
            env["SWITCHYARD_KAFKA"] = self.external_kafka
        return env

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        base = cls()
        if env_int(env, "SWITCHYARD_PARTITIONS", base.partitions) < 1:
            raise SettingsError("SWITCHYARD_PARTITIONS must be at least 1")
        if env_int(env, "SWITCHYARD_BATCH_SIZE", base.batch_size) < 1:
            raise SettingsError("SWITCHYARD_BATCH_SIZE must be at least 1")
        if env_float(env, "SWITCHYARD_SESSION_TIMEOUT", base.session_timeout_s) < MIN_SESSION_TIMEOUT_S:
            raise SettingsError(
                f"SWITCHYARD_SESSION_TIMEOUT must be at least {MIN_SESSION_TIMEOUT_S:g} seconds "
                f"(members send a heartbeat every {HEARTBEAT_S:g} s)"
            )
        return cls(
            external_kafka=env.get("SWITCHYARD_KAFKA") or None,
            kafka_port=env_port(env, "SWITCHYARD_KAFKA_PORT", base.kafka_port),
            kafka_controller_port=env_port(
                env, "SWITCHYARD_KAFKA_CONTROLLER_PORT", base.kafka_controller_port
            ),
            kafka_jit=_choice(env, "SWITCHYARD_KAFKA_JIT", base.kafka_jit, KAFKA_JITS),
            cache_dir=Path(env["SWITCHYARD_CACHE"]) if env.get("SWITCHYARD_CACHE") else base.cache_dir,
            data_dir=Path(env.get("SWITCHYARD_DATA", str(base.data_dir))).resolve(),
            app_id=env.get("SWITCHYARD_APP_ID", base.app_id),
            topic_prefix=env.get("SWITCHYARD_TOPIC_PREFIX", base.topic_prefix),
            partitions=env_int(env, "SWITCHYARD_PARTITIONS", base.partitions),
            log_level=env.get("SWITCHYARD_LOG_LEVEL", base.log_level).lower(),
            log_format=_choice(env, "SWITCHYARD_LOG_FORMAT", base.log_format, ("text", "json")),
            web_port=env_port(env, "SWITCHYARD_WEB_PORT", base.web_port, off=True),
            max_event_bytes=env_int(env, "SWITCHYARD_MAX_EVENT_BYTES", base.max_event_bytes),
            batch_size=env_int(env, "SWITCHYARD_BATCH_SIZE", base.batch_size),
            batch_within_s=env_float(env, "SWITCHYARD_BATCH_WITHIN", base.batch_within_s),
            ml=_choice(env, "SWITCHYARD_ML", "on", ("on", "off")) == "on",
            state_cache_mb=env_int(env, "SWITCHYARD_STATE_CACHE_MB", base.state_cache_mb),
            static_membership=_choice(env, "SWITCHYARD_STATIC_MEMBERSHIP", "off", ("on", "off")) == "on",
            session_timeout_s=env_float(env, "SWITCHYARD_SESSION_TIMEOUT", base.session_timeout_s),
            test_skip_records=env_int(env, "SWITCHYARD_TEST_SKIP_RECORDS", 0),
        )


def analytics_port(env: Mapping[str, str]) -> int:
    """SWITCHYARD_ANALYTICS_PORT: where the analytics writer serves its reports (0 = it serves none), read by
    the writer, the worker's API and `switchyard report`."""
    return env_port(env, "SWITCHYARD_ANALYTICS_PORT", WriterConfig.query_port, off=True)


def env_port(env: Mapping[str, str], name: str, default: int, off: bool = False) -> int:
    """The TCP port in ``env[name]`` (1-65535; also 0 when ``off``, where 0 turns the listener off),
    ``default`` when unset or empty; SettingsError else."""
    port = env_int(env, name, default)
    if not (0 if off else 1) <= port <= MAX_PORT:
        allowed = f"from 1 to {MAX_PORT}" + (" (or 0: off)" if off else "")
        raise SettingsError(f"{name}={env.get(name)!r} is not a port: it must be {allowed}")
    return port


def env_int(env: Mapping[str, str], name: str, default: int) -> int:
    """The non-negative whole number in ``env[name]``, ``default`` when unset or empty; SettingsError else."""
    return int(_number(env, name, default, whole=True))


def env_float(env: Mapping[str, str], name: str, default: float) -> float:
    """The non-negative number in ``env[name]``, ``default`` when unset or empty; SettingsError else."""
    return _number(env, name, default, whole=False)


def _number(env: Mapping[str, str], name: str, default: float, whole: bool) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw) if whole else float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a {'whole ' if whole else ''}number") from None
    if value < 0:
        raise SettingsError(f"{name}={raw!r} cannot be negative")
    return value


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = env.get(name) or default
    if raw.lower() not in choices:
        raise SettingsError(f"{name}={raw!r} must be one of: {', '.join(choices)}")
    return raw.lower()
