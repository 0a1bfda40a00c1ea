"""Webhook signatures: how we sign a request, and how a receiver checks one.

Algorithm (version ``v1``):
    timestamp = whole seconds since the epoch, sent as ``X-Switchyard-Timestamp``
    signed    = timestamp (decimal ASCII) + "." + the exact request body bytes
    signature = "v1=" + lowercase hex of HMAC-SHA256(key = the shared secret (UTF-8), message = signed)
sent as ``X-Switchyard-Signature``. A receiver recomputes it over the raw body it received, compares in
constant time, and rejects a timestamp further than ``tolerance_s`` from its own clock (replays).
"""

from __future__ import annotations

import hashlib
import hmac
import time

TIMESTAMP_HEADER = "X-Switchyard-Timestamp"
SIGNATURE_HEADER = "X-Switchyard-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
VERSION = "v1"
DEFAULT_TOLERANCE_S = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Switchyard-Signature`` value for ``body`` sent at ``timestamp`` (epoch seconds)."""
    message = str(timestamp).encode() + b"." + body
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return f"{VERSION}={digest}"


def signed_headers(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(secret, timestamp, body)}


def verify_signature(
    secret: str,
    timestamp: str | int,
    body: bytes,
    signature: str,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    now_s: float | None = None,
) -> bool:
    """True if ``signature`` signs ``body`` at ``timestamp`` with ``secret``, and the timestamp is within
    ``tolerance_s`` seconds of now (``now_s``, default the clock). Several comma-separated signatures are
    accepted (for secret rotation) if any one matches."""
    try:
        stamp = int(timestamp)
    except (TypeError, ValueError):
        return False
    current = time.time() if now_s is None else now_s
    if abs(current - stamp) > tolerance_s:
        return False
    expected = sign(secret, stamp, body)
    return any(hmac.compare_digest(expected, candidate.strip()) for candidate in signature.split(","))
