"""The workspace policy: read the one in force, publish a new version (engine/compile_policy.py)."""

from __future__ import annotations

from aiohttp import web

from agents.api.catalog_view import checked
from agents.api.context import context_of
from agents.api.exceptions import ApiError
from agents.api.http import json_response, read_json
from agents.catalog import plan_policy


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
    policies = await ctx.policies()
    record = checked(lambda: plan_policy(policies, body), "invalid_policy", "the policy does not validate")
    await ctx.write_catalog(record)
    return await get_policy(request)


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/v1/policy", get_policy)
    router.add_put("/v1/policy", publish_policy)
