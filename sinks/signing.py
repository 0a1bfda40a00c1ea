"""Webhook signatures in the Standard Webhooks scheme, so any receiver can verify them off the shelf.

Every signed request carries:
    webhook-id:        the action id (also sent as Idempotency-Key): receivers dedupe on a signed value
    webhook-timestamp: whole seconds since the epoch
    webhook-signature: "v1," + base64(HMAC-SHA256(key, id + "." + timestamp + "." + body))
A destination's secret is `whsec_<base64 of the key bytes>` (another string is taken as the key's UTF-8
bytes). During a rotation a destination has several secrets, and the request carries one signature per
secret, space-separated; a receiver holding any one of them verifies. Signing and verifying use the
`standardwebhooks` package, as receivers do; `verify` returns False on any malformed input.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

from sinks.exceptions import SinkConfigError

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
SECRET_PREFIX = "whsec_"
MIN_KEY_BYTES = 16
# Headers the sender owns: workflow params can never set them.
RESERVED_HEADERS = frozenset(
    {"host", "content-length", "content-type", "transfer-encoding", "connection", "te", "trailer", "upgrade",
     "expect", "idempotency-key"}
)  # fmt: skip
RESERVED_PREFIXES = ("webhook-", "x-switchyard-")
_SEPARATORS = re.compile(r"[\s,]+")


def key_bytes(secret: str) -> bytes:
    """The HMAC key of one secret; SinkConfigError if a `whsec_` secret is not base64 or too short."""
    if secret.startswith(SECRET_PREFIX):
        try:
            key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
        except (binascii.Error, ValueError):
            raise SinkConfigError("a whsec_ secret must be base64 after the prefix") from None
        if len(key) < MIN_KEY_BYTES:
            raise SinkConfigError(f"a whsec_ secret needs at least {MIN_KEY_BYTES} key bytes")
        return key
    if not secret:
        raise SinkConfigError("an empty signing secret")
    return secret.encode()


def parse_secrets(raw: str | None) -> tuple[str, ...]:
    """The secrets in a setting: newest first, separated by spaces or commas (rotation). Each is checked."""
    secrets = tuple(part for part in _SEPARATORS.split(raw or "") if part)
    for secret in secrets:
        key_bytes(secret)
    return secrets


def signed_headers(secrets: Sequence[str], message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers for `body`, one signature per secret."""
    when = datetime.fromtimestamp(timestamp, UTC)
    signatures = " ".join(Webhook(key_bytes(secret)).sign(message_id, when, body) for secret in secrets)
    return {ID_HEADER: message_id, TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: signatures}


def verify(secret: str, body: bytes, headers: Mapping[str, str]) -> bool:
    """True if `headers` carry a valid signature of `body` under `secret`, with a timestamp within five
    minutes of now; False for anything else, malformed input included."""
    try:
        Webhook(key_bytes(secret)).verify(body, dict(headers), json_parse=False)
    except Exception:  # a verifier answers yes or no; a malformed header or secret is a no
        return False
    return True


def allowed_header(name: str) -> bool:
    """Whether workflow params may set the header `name`."""
    lowered = name.strip().lower()
    return lowered not in RESERVED_HEADERS and not lowered.startswith(RESERVED_PREFIXES)
