"""The door's rules on a small aiohttp app on loopback (no broker): the self-authenticated registry, what
those routes still get, and the refusal to listen beyond loopback without a token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from agents.api.config import ApiConfig
from agents.api.exceptions import ApiConfigError
from agents.api.http import SELF_AUTHENTICATED, SelfAuthenticated, api_middleware, healthz, self_authenticated
from agents.app import build_worker
from agents.settings import Settings

TOKEN = "door-unit-token"


async def ok(request: web.Request) -> web.Response:
    return web.json_response({"path": request.path})


@pytest.fixture
async def server() -> AsyncIterator[TestServer]:
    app = web.Application(middlewares=[api_middleware(ApiConfig(token=TOKEN, max_body_bytes=1000))])
    app.router.add_get("/healthz", healthz)
    for path in ("/v1/track", "/v1/trackx", "/v1/hooks/stripe", "/v1/unsubscribe", "/v1/workflows"):
        app.router.add_route("*", path, ok)
    test_server = TestServer(app, host="127.0.0.1")
    await test_server.start_server()
    yield test_server
    await test_server.close()


async def status(server: TestServer, method: str, path: str, **kwargs: object) -> int:
    url = str(server.make_url(path))
    async with aiohttp.ClientSession() as session, session.request(method, url, **kwargs) as response:  # type: ignore[arg-type]
        return response.status


def test_prefixes_match_whole_path_segments() -> None:
    entry = SelfAuthenticated("/v1/track")
    assert entry.matches("/v1/track") and entry.matches("/v1/track/x")
    assert not entry.matches("/v1/trackx") and not entry.matches("/v1/tracks")
    assert SelfAuthenticated("/v1/hooks/").matches("/v1/hooks/stripe")
    assert self_authenticated("/v1/workflows") is None and self_authenticated("/v1/events") is None
    assert len({entry.prefix for entry in SELF_AUTHENTICATED}) == len(SELF_AUTHENTICATED)


async def test_self_authenticated_routes_skip_the_token_but_keep_other_checks(
    server: TestServer,
) -> None:
    json = {"Content-Type": "application/json"}
    assert await status(server, "POST", "/v1/track", data=b"{}", headers=json) == 200
    assert await status(server, "POST", "/v1/trackx", data=b"{}", headers=json) == 401  # not a segment of it
    assert await status(server, "POST", "/v1/workflows", data=b"{}", headers=json) == 401
    # Segment's browser library: text/plain from another site is allowed there, and only there.
    browser = {"Content-Type": "text/plain", "Origin": "https://shop.example"}
    assert await status(server, "POST", "/v1/track", data=b"{}", headers=browser) == 200
    assert (
        await status(server, "POST", "/v1/track", data=b"<x/>", headers={"Content-Type": "text/xml"}) == 415
    )
    # Inbound hooks: JSON only, and no foreign browser origin.
    assert await status(server, "POST", "/v1/hooks/stripe", data=b"a=1",
                        headers={"Content-Type": "application/x-www-form-urlencoded"}) == 415  # fmt: skip
    assert await status(server, "POST", "/v1/hooks/stripe", data=b"{}",
                        headers={**json, "Origin": "https://evil.example"}) == 403  # fmt: skip
    # RFC 8058 one-click unsubscribe: a form post.
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert (
        await status(server, "POST", "/v1/unsubscribe", data=b"List-Unsubscribe=One-Click", headers=form)
        == 200
    )
    # Every route: size, Host.
    assert await status(server, "POST", "/v1/track", data=b"x" * 2000, headers=json) == 413
    assert await status(server, "GET", "/v1/track", headers={"Host": "attacker.example"}) == 421
    assert await status(server, "GET", "/healthz") == 200


def test_no_listening_beyond_loopback_without_a_token(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for bind in ("0.0.0.0", "192.168.1.10", "::", "example.com"):
        with pytest.raises(ApiConfigError, match="without SWITCHYARD_API_TOKEN"):
            ApiConfig.from_env({"SWITCHYARD_WEB_BIND": bind})
        assert ApiConfig.from_env({"SWITCHYARD_WEB_BIND": bind, "SWITCHYARD_API_TOKEN": "t"}).bind == bind
    for bind in ("127.0.0.1", "::1", "localhost", "127.0.0.2"):
        assert ApiConfig.from_env({"SWITCHYARD_WEB_BIND": bind}).bind == bind
    monkeypatch.setenv("SWITCHYARD_WEB_BIND", "0.0.0.0")
    monkeypatch.delenv("SWITCHYARD_API_TOKEN", raising=False)
    with pytest.raises(ApiConfigError):  # the worker refuses before building anything
        build_worker(Settings(data_dir=tmp_path, app_id="door"))


@pytest.mark.parametrize("variable", ["WEB_BIND", "WEB_HOST", "WEB_PORT"])
def test_faust_own_web_variables_cannot_move_the_api(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str
) -> None:
    """Faust would let them override what it is given, past the token check above."""
    monkeypatch.delenv("SWITCHYARD_WEB_BIND", raising=False)
    monkeypatch.delenv("SWITCHYARD_API_TOKEN", raising=False)
    monkeypatch.setenv(variable, "7777" if variable == "WEB_PORT" else "0.0.0.0")
    with pytest.raises(ApiConfigError, match=f"the environment sets {variable}="):
        build_worker(Settings(data_dir=tmp_path, app_id="door"))
