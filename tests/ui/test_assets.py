"""The builder's files as the worker serves them (issue 20, robustness): hashed assets compressed and
cached for a year, index.html revalidated, an unknown or escaping path refused."""

from __future__ import annotations

import gzip
import re
import urllib.error
import urllib.request

from tests.agents.api.fixtures import ApiWorker
from tests.ui.test_builder import UI, ensure_ui_built


def fetch(base: str, path: str, encoding: str | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(base + path)
    if encoding is not None:
        request.add_header("Accept-Encoding", encoding)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def script_path() -> str:
    index = (UI / "dist" / "index.html").read_text(encoding="utf-8")
    found = re.search(r'src="/ui/(assets/[^"]+\.js)"', index)
    assert found, "index.html names no script asset"
    return found.group(1)


def test_hashed_assets_are_compressed_and_cached_for_a_year(api_worker: ApiWorker) -> None:
    ensure_ui_built()
    base, asset = api_worker.client.base, script_path()
    raw = (UI / "dist" / asset).read_bytes()

    status, headers, body = fetch(base, f"/ui/{asset}", "br, gzip")
    assert status == 200 and headers.get("Content-Encoding") == "br"
    assert body == (UI / "dist" / f"{asset}.br").read_bytes() and len(body) < len(raw) / 3
    assert headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "Accept-Encoding" in headers.get("Vary", "")

    status, headers, body = fetch(base, f"/ui/{asset}", "gzip")
    assert status == 200 and headers.get("Content-Encoding") == "gzip"
    assert gzip.decompress(body) == raw

    status, headers, body = fetch(base, f"/ui/{asset}", "identity")
    assert status == 200 and "Content-Encoding" not in headers and body == raw


def test_the_page_is_revalidated_and_bad_paths_are_refused(api_worker: ApiWorker) -> None:
    ensure_ui_built()
    base = api_worker.client.base
    status, headers, body = fetch(base, "/ui/", "gzip")
    assert (
        status == 200
        and headers["Cache-Control"] == "no-cache"
        and b'<div id="root"'
        in (gzip.decompress(body) if headers.get("Content-Encoding") == "gzip" else body)
    )
    assert fetch(base, "/ui/assets/no-such-file.js")[0] == 404
    assert fetch(base, "/ui/%2e%2e/%2e%2e/pyproject.toml")[0] == 404
