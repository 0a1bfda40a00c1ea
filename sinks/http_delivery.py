"""POSTing JSON to an HTTP endpoint and sorting the answer into delivered / retry / give up.

- 2xx: delivered; 408, 429 and 5xx: retryable (Retry-After honoured by the runner, capped); any other
  status (3xx are not followed, 4xx): permanent; connection errors and timeouts: retryable.
- Signed requests carry the Standard Webhooks headers ``webhook-id`` (= the action id),
  ``webhook-timestamp`` and ``webhook-signature``, one signature per secret of the destination
  (sinks/signing.py); every request carries ``Idempotency-Key`` = the action id too. Headers from workflow
  params never replace these, nor Host, Content-Length or Transfer-Encoding.
- With an AddressGuard, targets are checked before the request and again in the resolver (SSRF).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
import orjson
from yarl import URL

from sinks.address_guard import AddressGuard, GuardedResolver
from sinks.exceptions import PermanentFailure, RetryableFailure
from sinks.settings import WebhookSettings
from sinks.signing import IDEMPOTENCY_HEADER, allowed_header, signed_headers

RETRYABLE_4XX = frozenset({408, 429})
MAX_BODY_EXCERPT = 200
# What is read of an answer: enough for any provider's JSON reply; a peer streaming more is cut off here
# (the connection is closed) rather than held in memory until the request's time runs out.
MAX_ANSWER_BYTES = 1024 * 1024
READ_CHUNK = 64 * 1024


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    body: bytes

    def json(self) -> Any:
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError:
            return None


class HttpDelivery:
    def __init__(
        self,
        connect_timeout_s: float,
        total_timeout_s: float,
        secrets: tuple[str, ...] = (),
        guard: AddressGuard | None = None,
    ) -> None:
        self.timeout = aiohttp.ClientTimeout(total=total_timeout_s, sock_connect=connect_timeout_s)
        self.secrets = secrets
        self.guard = guard
        self.session: aiohttp.ClientSession | None = None

    @classmethod
    async def for_hook(
        cls, hook: WebhookSettings, secrets: tuple[str, ...] = (), guard: AddressGuard | None = None
    ) -> HttpDelivery:
        """Started, with the webhook settings' timeouts (the handlers that post to a configured URL)."""
        delivery = cls(hook.connect_timeout_s, hook.total_timeout_s, secrets, guard)
        await delivery.start()
        return delivery

    async def start(self) -> None:
        resolver = GuardedResolver(self.guard) if self.guard is not None else None
        connector = aiohttp.TCPConnector(resolver=resolver, limit=100, ttl_dns_cache=10)
        self.session = aiohttp.ClientSession(timeout=self.timeout, connector=connector)

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()

    async def post_json(
        self, url: str, payload: Any, idempotency_key: str, headers: dict[str, str] | None = None
    ) -> HttpAnswer:
        """One request. Returns the answer on 2xx; raises RetryableFailure / PermanentFailure otherwise."""
        assert self.session is not None, "start() first"
        if self.guard is not None:
            self.guard.check_url(url)
        body = orjson.dumps(payload)
        all_headers = {name: value for name, value in (headers or {}).items() if allowed_header(name)}
        all_headers.update({"Content-Type": "application/json", IDEMPOTENCY_HEADER: idempotency_key})
        if self.secrets:
            all_headers.update(signed_headers(self.secrets, idempotency_key, int(time.time()), body))
        try:
            async with self.session.post(
                url, data=body, headers=all_headers, allow_redirects=False
            ) as response:
                answer = HttpAnswer(response.status, await read_bounded(response, MAX_ANSWER_BYTES))
                retry_after = response.headers.get("Retry-After")
        except TimeoutError:
            raise RetryableFailure("timed out", details={"url": origin_of(url)}) from None
        except aiohttp.ClientError as exc:
            raise RetryableFailure(f"{type(exc).__name__}: {exc}", details={"url": origin_of(url)}) from None
        return classify(url, answer, retry_after)


async def read_bounded(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """The answer's body, or its first ``limit`` bytes when it is longer."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(READ_CHUNK):
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)[:limit]


def classify(url: str, answer: HttpAnswer, retry_after: str | None) -> HttpAnswer:
    """The answer on 2xx; otherwise the failure to raise (``retry_after``: the header, read only here)."""
    status = answer.status
    if 200 <= status < 300:
        return answer
    excerpt = answer.body[:MAX_BODY_EXCERPT].decode("utf-8", "replace")
    message = f"HTTP {status}" + (f": {excerpt}" if excerpt else "")
    details = {"status": status, "url": origin_of(url)}
    if status >= 500 or status in RETRYABLE_4XX:
        raise RetryableFailure(message, parse_retry_after(retry_after), details)
    raise PermanentFailure(message, details=details)


def origin_of(url: str) -> str:
    """Where a request went, for outcome events and dead letters: scheme, host and port, without the path
    and query, where a configured URL may carry a secret (a chat service's incoming-webhook token)."""
    try:
        return str(URL(url).origin())
    except (ValueError, TypeError):
        return "(a URL without a host)"


def parse_retry_after(value: str | None, now_s: float | None = None) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP date; None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # str.isdigit also holds for "²" and other non-ASCII digits
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = time.time() if now_s is None else now_s
    return max(0.0, when.timestamp() - current)
