"""Signed links for a contact: the token in an unsubscribe link, made by the email sink and checked by the
worker's API, so nobody can unsubscribe a contact whose link they were not sent (pure: HMAC only)."""

from __future__ import annotations

import base64
import hashlib
import hmac


def unsubscribe_token(secret: str, contact_id: str, channel: str) -> str:
    digest = hmac.new(secret.encode(), f"unsubscribe\x1f{contact_id}\x1f{channel}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()[:24]).decode()


def valid_unsubscribe_token(secret: str, contact_id: str, channel: str, token: str) -> bool:
    expected = unsubscribe_token(secret, contact_id, channel)
    return hmac.compare_digest(expected.encode(), token.encode("utf-8", "replace"))
