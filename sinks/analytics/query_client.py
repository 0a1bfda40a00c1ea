"""Running a named report from another process: ask the writer's endpoint, or open the store directly.

For an embedded (chdb) DSN the writer owns the data path, so the endpoint is tried first; when nothing
listens there, the writer is not running and the path is opened here (chdb's own lock refuses it if
another process holds it). For a server DSN the store is queried directly.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from sinks.analytics.dsn import is_embedded
from sinks.analytics.exceptions import ReportUnavailable, StoreUnavailable, UnknownReport
from sinks.analytics.reports import run_report
from sinks.analytics.store import AnalyticsStore, QueryResult


@dataclass(frozen=True)
class ReportSource:
    dsn: str
    endpoint: str | None  # http://127.0.0.1:<port> of the writer, or None when it has none
    token: str | None = None


def fetch_report(
    source: ReportSource, name: str, parameters: dict[str, Any], timeout_s: float = 60.0
) -> QueryResult:
    if is_embedded(source.dsn) and source.endpoint:
        try:
            return _from_endpoint(source, name, parameters, timeout_s)
        except ConnectionRefusedError:
            pass  # no writer running: the data path is free to open here
    return _from_store(source.dsn, name, parameters)


def _from_endpoint(
    source: ReportSource, name: str, parameters: dict[str, Any], timeout_s: float
) -> QueryResult:
    assert source.endpoint is not None
    query = urllib.parse.urlencode({k: v for k, v in parameters.items() if v not in (None, "")})
    request = urllib.request.Request(f"{source.endpoint}/reports/{urllib.parse.quote(name)}?{query}")
    if source.token:
        request.add_header("Authorization", f"Bearer {source.token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            body = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        detail = _error_text(exc)
        if exc.code == 404:
            raise UnknownReport(detail) from None
        raise ReportUnavailable(f"the analytics writer answered {exc.code}: {detail}") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, ConnectionRefusedError):
            raise exc.reason from None
        raise ReportUnavailable(
            f"cannot reach the analytics writer at {source.endpoint}: {exc.reason}"
        ) from None
    return QueryResult(list(body["columns"]), [tuple(row) for row in body["rows"]])


def _from_store(dsn: str, name: str, parameters: dict[str, Any]) -> QueryResult:
    try:
        store = AnalyticsStore.connect(dsn)
    except StoreUnavailable as exc:
        raise ReportUnavailable(
            f"{exc}\n(with the embedded store, run reports while `switchyard analytics` runs with its "
            "report endpoint on, or stop it first)"
        ) from None
    try:
        return run_report(store, name, parameters)
    except StoreUnavailable as exc:
        raise ReportUnavailable(f"{exc}\n(has `switchyard analytics` created the schema yet?)") from None
    finally:
        store.close()


def _error_text(exc: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(exc.read()).get("error", exc.reason))
    except (ValueError, AttributeError):
        return str(exc.reason)
