"""Analytics DSNs: the embedded default under the data dir, and telling embedded from server DSNs."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

EMBEDDED_SCHEME = "chdb"


def default_dsn(data_dir: Path) -> str:
    """`chdb:///<abs data dir>/analytics`: three slashes, so the whole path is the engine's location."""
    return f"{EMBEDDED_SCHEME}://{(data_dir / 'analytics').resolve()}"


def is_embedded(dsn: str) -> bool:
    return dsn.startswith(f"{EMBEDDED_SCHEME}:")


def redact(dsn: str) -> str:
    """The DSN with its password replaced, fit for logs."""
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    netloc = f"{parts.username}:***@{host}{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
