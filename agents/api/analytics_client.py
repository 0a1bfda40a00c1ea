"""Ask the analytics writer's report endpoint (GET /reports/<name>) for a named report.

The endpoint is the contract between the worker and the analytics writer (sinks/analytics/query_server.py);
nothing here imports the sinks package.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from agents.api.exceptions import ApiError


async def fetch_report(
    base_url: str | None, token: str | None, name: str, params: dict[str, Any], timeout_s: float = 30.0
) -> dict[str, Any]:
    """{"columns": [...], "rows": [[...]]}; 503 when the endpoint is not configured or not reachable."""
    if not base_url:
        raise ApiError(503, "analytics_unavailable", "no analytics endpoint is configured")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    query = {k: str(v) for k, v in params.items() if v not in (None, "")}
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as session,
            session.get(f"{base_url}/reports/{name}", params=query, headers=headers) as response,
        ):
            body: Any = await response.json(content_type=None)
            if response.status != 200:
                detail = body.get("error") if isinstance(body, dict) else body
                raise ApiError(
                    503 if response.status != 404 else 404,
                    "analytics_error" if response.status != 404 else "unknown_report",
                    f"the analytics endpoint answered {response.status}: {detail}",
                )
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise ApiError(
            503, "analytics_unavailable", f"cannot reach the analytics endpoint at {base_url}: {exc}"
        ) from None
    if not isinstance(body, dict) or "columns" not in body or "rows" not in body:
        raise ApiError(503, "analytics_error", "the analytics endpoint answered something else than a report")
    return body
