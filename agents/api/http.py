"""HTTP plumbing shared by the routes: JSON bodies within a size limit, JSON responses, errors, the token.

The middleware turns every ApiError into `{"error": code, "message": ..., "details": ...}` with its status,
and checks the bearer token on /v1 paths (401 when missing, 403 when wrong) except the OpenAPI document.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

from agents.api.exceptions import ApiError

log = logging.getLogger("switchyard.api")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PUBLIC_PATHS = frozenset({"/v1/openapi.json"})


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


def token_problem(header: str | None, token: str | None) -> ApiError | None:
    """None when the request may pass; 401 without credentials, 403 with wrong ones."""
    if not token:
        return None
    if not header:
        return ApiError(401, "unauthorized", "this API needs `Authorization: Bearer <token>`")
    if not hmac.compare_digest(header.encode(), f"Bearer {token}".encode()):
        return ApiError(403, "forbidden", "the bearer token is not valid")
    return None


def api_middleware(token: str | None) -> Any:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith("/v1/"):
            return await handler(request)
        try:
            if request.path not in PUBLIC_PATHS:
                problem = token_problem(request.headers.get("Authorization"), token)
                if problem is not None:
                    raise problem
            return await handler(request)
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
