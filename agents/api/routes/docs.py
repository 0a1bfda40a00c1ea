"""The OpenAPI document, the workflow JSON Schema, the example templates, and the builder UI at /ui/.

The UI's files are served compressed when the client accepts it: the build writes a .br and a .gz beside
each text asset (ui/scripts/compress.mjs), and aiohttp's file response picks one by Accept-Encoding.
Vite puts a content hash in every asset's name under assets/, so those are cached for a year as
immutable; index.html, which names the current assets, is revalidated on every load."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import orjson
import yaml
from aiohttp import web

from agents.api.context import context_of
from agents.api.http import json_response
from engine.parser import parse_text

OPENAPI = Path(__file__).resolve().parents[1] / "openapi.yaml"
REPO = Path(__file__).resolve().parents[3]
IMMUTABLE = {"Cache-Control": "public, max-age=31536000, immutable"}
REVALIDATE = {"Cache-Control": "no-cache"}
WORKFLOW_SCHEMA = REPO / "engine" / "schema" / "workflow.schema.json"
EXAMPLES = REPO / "examples" / "workflows"


@cache
def openapi_document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(OPENAPI.read_text(encoding="utf-8"))
    return loaded


async def get_openapi(request: web.Request) -> web.Response:
    return json_response(openapi_document())


async def get_workflow_schema(request: web.Request) -> web.Response:
    return json_response(orjson.loads(WORKFLOW_SCHEMA.read_bytes()))


async def get_templates(request: web.Request) -> web.Response:
    templates = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        data = parse_text(path.read_text(encoding="utf-8"), str(path)).data
        templates.append({"name": path.stem, "title": str(data.get("name", path.stem)),
                          "description": str(data.get("description") or ""), "definition": data})  # fmt: skip
    return json_response({"templates": templates})


async def get_ui_index(request: web.Request) -> web.StreamResponse:
    index = context_of(request).config.ui_dir / "index.html"
    if not index.exists():
        return web.Response(
            status=404, text="the builder UI is not built: run `cd ui && npm ci && npm run build`\n"
        )
    return web.FileResponse(index, headers=REVALIDATE)


async def get_ui_file(request: web.Request) -> web.StreamResponse:
    """A built asset under ui/dist (resolved inside it: no `..` escapes)."""
    root = context_of(request).config.ui_dir.resolve()
    wanted = (root / request.match_info["path"]).resolve()
    if not wanted.is_relative_to(root) or not wanted.is_file():
        raise web.HTTPNotFound()
    hashed = wanted.parent == root / "assets"
    return web.FileResponse(wanted, headers=IMMUTABLE if hashed else REVALIDATE)


async def redirect_to_ui(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/ui/")


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/v1/openapi.json", get_openapi)
    router.add_get("/v1/schema/workflow", get_workflow_schema)
    router.add_get("/v1/templates", get_templates)
    router.add_get("/ui", redirect_to_ui)
    router.add_get("/ui/", get_ui_index)
    router.add_get("/ui/{path:.+}", get_ui_file)
