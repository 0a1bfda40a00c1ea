"""HTTP plumbing shared by the routes: the one door every request passes, JSON bodies within a size limit,
JSON responses and errors.

The middleware (`api_middleware`) runs on every path of the worker's web server, Faust's own pages included:
1. the `Host` header must name this server (DNS rebinding), else 421;
2. a foreign `Origin` is refused (403), unless the route is registered as `cross_origin`;
3. the bearer token (401 missing, 403 wrong), except `/healthz`, the builder's static files under /ui/,
   `/metrics` when the config makes it public, and the routes in SELF_AUTHENTICATED, which check their own
   credential (a Segment write key, a webhook signature, a signed link);
4. a write with a body needs `application/json` (or the content types its registry entry lists), else 415;
5. a declared body over the limit is 413 before the handler runs (read_body enforces it while streaming);
6. every handler runs within the request time limit, else 504.
Every ApiError becomes `{"error": code, "message": ..., "details": ...}` with its status.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from agents.api.config import ApiConfig
from agents.api.exceptions import ApiError

log = logging.getLogger("switchyard.api")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

JSON_ONLY = frozenset({"application/json"})
# Segment's browser library posts text/plain to skip the CORS preflight; its server libraries post JSON.
SEGMENT_TYPES = frozenset({"application/json", "text/plain"})
# RFC 8058 one-click unsubscribe: the mail provider posts `List-Unsubscribe=One-Click` as a form.
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


@dataclass(frozen=True)
class SelfAuthenticated:
    """A route that authenticates with its own credential instead of the bearer token.

    The handler MUST verify that credential itself. `prefix` matches the path itself or anything below
    it ("/v1/track" matches "/v1/track" and "/v1/track/x", never "/v1/trackx"); `content_types` are the
    media types its writes may have; `cross_origin` lets browsers on other sites call it.
    """

    prefix: str
    content_types: frozenset[str] = JSON_ONLY
    cross_origin: bool = False

    def matches(self, path: str) -> bool:
        base = self.prefix.rstrip("/")
        return path == base or path.startswith(base + "/")


# THE registry of routes that skip the bearer token (see /tmp/notes/auth_contract.md). One entry per line.
SELF_AUTHENTICATED: tuple[SelfAuthenticated, ...] = (
    SelfAuthenticated("/v1/alias", SEGMENT_TYPES, cross_origin=True),
    SelfAuthenticated("/v1/batch", SEGMENT_TYPES, cross_origin=True),
    SelfAuthenticated("/v1/group", SEGMENT_TYPES, cross_origin=True),
    SelfAuthenticated("/v1/hooks/", JSON_ONLY),
    SelfAuthenticated("/v1/identify", SEGMENT_TYPES, cross_origin=True),
    SelfAuthenticated("/v1/page", SEGMENT_TYPES, cross_origin=True),
    SelfAuthenticated("/v1/screen", SEGMENT_TYPES, cross_origin=True),
    SelfAuthenticated("/v1/track", SEGMENT_TYPES, cross_origin=True),
    SelfAuthenticated("/v1/unsubscribe", FORM_TYPES, cross_origin=True),
)

# Served without the token: liveness, and the builder's HTML/JS (every API call it makes needs the token).
TOKEN_FREE_PATHS = frozenset({"/healthz", "/ui", "/ui/"})
TOKEN_FREE_PREFIXES = ("/ui/",)
METRICS_PATH = "/metrics"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS),
        status=status,
        content_type="application/json",
    )


async def read_body(request: web.Request, limit: int) -> bytes:
    """The request body, refusing (413) anything over `limit` bytes whatever Content-Length claims."""
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, "too_large", f"the body is {request.content_length} bytes; the limit is {limit}")
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.content.read(65536)
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "too_large", f"the body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: web.Request, limit: int, required: bool = True) -> Any:
    raw = await read_body(request, limit)
    if not raw.strip():
        if required:
            raise ApiError(400, "empty_body", "a JSON body is required")
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, "not_json", f"the body is not JSON: {exc}") from None


def object_field(body: dict[str, Any], name: str) -> dict[str, Any]:
    """``body[name]`` when it is an object ({} when absent); 400 ``bad_body`` otherwise."""
    value = body.get(name, {})
    if not isinstance(value, dict):
        raise ApiError(400, "bad_body", f"`{name}` must be an object")
    return value


def days_param(request: web.Request, default: int = 30) -> int:
    """The ``days`` query parameter: a whole number from 1 to 3650; 400 ``bad_days`` otherwise."""
    try:
        days = int(request.query.get("days", str(default)))
    except ValueError:
        raise ApiError(400, "bad_days", "`days` is a whole number") from None
    if not 1 <= days <= 3650:
        raise ApiError(400, "bad_days", "`days` is from 1 to 3650")
    return days


def token_problem(header: str | None, token: str | None) -> ApiError | None:
    """None when the request may pass; 401 without credentials, 403 with wrong ones."""
    if not token:
        return None
    if not header:
        return ApiError(401, "unauthorized", "this API needs `Authorization: Bearer <token>`")
    if not hmac.compare_digest(header.encode(), f"Bearer {token}".encode()):
        return ApiError(403, "forbidden", "the bearer token is not valid")
    return None


def self_authenticated(path: str) -> SelfAuthenticated | None:
    return next((entry for entry in SELF_AUTHENTICATED if entry.matches(path)), None)


def host_name(host: str) -> str:
    """The name in a Host header, without its port ("[::1]:6066" -> "::1")."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def host_problem(host: str | None, config: ApiConfig) -> ApiError | None:
    allowed = LOOPBACK_HOSTS | config.allowed_hosts | {config.bind}
    if host and host_name(host) in allowed:
        return None
    return ApiError(421, "bad_host", "unexpected Host header (SWITCHYARD_API_ALLOWED_HOSTS)")


def origin_problem(origin: str | None, host: str | None, config: ApiConfig) -> ApiError | None:
    """A browser request from another site (its Origin is neither ours nor an allowed one) is refused."""
    if origin is None:
        return None
    origin = origin.strip().lower().rstrip("/")
    own = {f"{scheme}://{(host or '').lower()}" for scheme in ("http", "https")}
    if origin in own or origin in config.allowed_origins:
        return None
    return ApiError(403, "bad_origin", "cross-origin requests are refused (SWITCHYARD_API_ALLOWED_ORIGINS)")


def content_type_problem(request: web.Request, allowed: frozenset[str]) -> ApiError | None:
    """A write whose body is not one of the allowed media types (a browser's cross-site `text/plain` or
    form post needs no CORS preflight; JSON does)."""
    if request.method not in WRITE_METHODS:
        return None
    declared = request.headers.get("Content-Type")
    has_body = request.body_exists and request.content_length != 0
    if declared is None and not has_body:
        return None
    media = (declared or "").split(";", 1)[0].strip().lower()
    if media in allowed:
        return None
    wanted = " or ".join(sorted(allowed))
    return ApiError(415, "bad_content_type", f"a write needs Content-Type {wanted}, not {media or 'none'!r}")


def token_exempt(path: str, config: ApiConfig) -> bool:
    if path in TOKEN_FREE_PATHS or path.startswith(TOKEN_FREE_PREFIXES):
        return True
    return path == METRICS_PATH and config.metrics_public


def door_problem(request: web.Request, config: ApiConfig) -> ApiError | None:
    """Why this request may not reach its handler, or None."""
    host = request.headers.get("Host")
    problem = host_problem(host, config)
    if problem is not None:
        return problem
    entry = self_authenticated(request.path)
    if entry is None or not entry.cross_origin:
        problem = origin_problem(request.headers.get("Origin"), host, config)
        if problem is not None:
            return problem
    if entry is None and not token_exempt(request.path, config):
        problem = token_problem(request.headers.get("Authorization"), config.token)
        if problem is not None:
            return problem
    problem = content_type_problem(request, entry.content_types if entry else JSON_ONLY)
    if problem is not None:
        return problem
    if request.content_length is not None and request.content_length > config.max_body_bytes:
        limit = config.max_body_bytes
        return ApiError(413, "too_large", f"the body is {request.content_length} bytes; the limit is {limit}")
    return None


def api_middleware(config: ApiConfig) -> Any:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            problem = door_problem(request, config)
            if problem is not None:
                raise problem
            try:
                return await asyncio.wait_for(handler(request), config.request_timeout_s)
            except TimeoutError:
                limit = config.request_timeout_s
                raise ApiError(504, "timeout", f"the request took over {limit:g} s") from None
        except ApiError as exc:
            response = json_response(exc.body(), exc.status)
            if exc.status == 401:
                response.headers["WWW-Authenticate"] = "Bearer"
            return response
        except web.HTTPException as exc:
            if exc.status >= 400:
                return json_response({"error": "http_error", "message": exc.reason}, exc.status)
            raise
        except Exception:
            log.exception("API request %s %s failed", request.method, request.path)
            return json_response({"error": "internal", "message": "internal error; see the worker log"}, 500)

    return middleware


async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})
