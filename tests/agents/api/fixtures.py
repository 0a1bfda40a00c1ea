"""Fixtures for API tests: a real worker process with its web port on, against the real broker, and an
HTTP client that checks every response against the OpenAPI document (jsonschema, draft 2020-12, as
OpenAPI 3.1 schemas are)."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from agents.kafka_admin import ensure_worker_topics
from agents.settings import Settings
from agents.worker_process import WorkerProcess

OPENAPI = yaml.safe_load(
    (Path(__file__).resolve().parents[3] / "agents" / "api" / "openapi.yaml").read_text(encoding="utf-8")
)
EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "workflows"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def api_settings(bootstrap: str, data_dir: Path) -> Settings:
    name = f"api-{uuid.uuid4().hex[:10]}"
    return Settings(external_kafka=bootstrap, data_dir=data_dir, app_id=name, topic_prefix=f"{name}.",
                    partitions=4, web_port=free_port(), log_level="info")  # fmt: skip


def _operation(method: str, path: str) -> tuple[str, dict[str, Any]]:
    for template, item in OPENAPI["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path.split("?")[0]) and method.lower() in item:
            return template, item[method.lower()]
    raise AssertionError(f"{method} {path} is not in the OpenAPI document")


def response_schema(method: str, path: str, status: int) -> dict[str, Any]:
    template, operation = _operation(method, path)
    response = operation["responses"].get(str(status))
    assert response is not None, f"{method} {template} answered {status}, which the document does not list"
    if "$ref" in response:
        response = OPENAPI["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    schema: dict[str, Any] = response["content"]["application/json"]["schema"]
    return {**schema, "components": OPENAPI["components"]}


@dataclass
class ApiClient:
    base: str
    token: str | None = None
    checked: list[tuple[str, str, int]] = field(default_factory=list)

    def call(self, method: str, path: str, body: Any = None, raw: bytes | None = None,
             token: str | None = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:  # fmt: skip
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        bearer = token if token is not None else self.token
        if bearer:
            request.add_header("Authorization", f"Bearer {bearer}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, payload = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, payload = exc.code, exc.read()
        decoded = json.loads(payload)
        jsonschema.Draft202012Validator(response_schema(method, path, status)).validate(decoded)
        self.checked.append((method, path, status))
        return status, decoded


@dataclass
class ApiWorker:
    settings: Settings
    process: WorkerProcess
    client: ApiClient


def start_api_worker(settings: Settings, log: Path, env: dict[str, str] | None = None) -> ApiWorker:
    asyncio.run(ensure_worker_topics(settings))
    process = WorkerProcess(settings, log).start(extra_env={"SWITCHYARD_ANALYTICS_PORT": "0", **(env or {})})
    token = (env or {}).get("SWITCHYARD_API_TOKEN")
    return ApiWorker(settings, process, ApiClient(f"http://127.0.0.1:{settings.web_port}", token))


@pytest.fixture(scope="module")
def api_worker(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiWorker]:
    """One worker per test module, no token, no analytics endpoint."""
    tmp = tmp_path_factory.mktemp("api")
    worker = start_api_worker(api_settings(kafka_bootstrap, tmp / "data"), tmp / "worker.log")
    yield worker
    worker.process.stop()


def example_definition(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text(encoding="utf-8"))
    return loaded


def worker_with_analytics(kafka_bootstrap: str, tmp: Path, token: str) -> Iterator[tuple[ApiWorker, Any]]:
    """A real worker whose API reads reports from a real analytics writer (embedded chdb), both with
    ``token``; for a module-scoped fixture to `yield from`."""
    from tests.sinks.analytics.fixtures import WriterProcess, free_port

    settings = api_settings(kafka_bootstrap, tmp / "data")
    port = free_port()
    env = {"SWITCHYARD_API_TOKEN": token}
    worker = start_api_worker(settings, tmp / "worker.log", {**env, "SWITCHYARD_ANALYTICS_PORT": str(port)})
    writer = WriterProcess(settings, f"chdb://{tmp / 'analytics'}", tmp / "analytics.log", port, env).start()
    yield worker, writer
    writer.stop()
    worker.process.stop()
