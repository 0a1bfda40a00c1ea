"""The workspace policy: read the one in force, publish a new version (engine/compile_policy.py)."""

from __future__ import annotations

from aiohttp import web

from agents.api.context import context_of
from agents.api.exceptions import ApiError
from agents.api.http import json_response, read_json
from agents.api.issues_view import issues_json
from agents.catalog import CatalogError, plan_policy
from engine.exceptions import PolicyInvalid


async def get_policy(request: web.Request) -> web.Response:
    """The policy in force (the highest version that compiles, as the worker applies it)."""
    ctx = context_of(request)
    policies = await ctx.policies()
    version = ctx.definitions.current().policy.version
    return json_response({"version": version or None, "policy": policies.get(version),
                          "versions": sorted(policies)})  # fmt: skip


async def publish_policy(request: web.Request) -> web.Response:
    ctx = context_of(request)
    body = await read_json(request, ctx.config.max_body_bytes)
    if not isinstance(body, dict):
        raise ApiError(400, "bad_body", 'send the policy as a JSON object: {"version": 1, ...}')
    try:
        record = plan_policy(await ctx.policies(), body)
    except PolicyInvalid as exc:
        raise ApiError(
            422, "invalid_policy", "the policy does not validate", issues_json(exc.issues)
        ) from None
    except CatalogError as exc:
        raise ApiError(409, "version_conflict", str(exc)) from None
    await ctx.write_catalog(record)
    return await get_policy(request)


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/v1/policy", get_policy)
    router.add_put("/v1/policy", publish_policy)
