"""Switchyard's HTTP API (`/v1/...`) and the builder UI (`/ui/`), served by the worker's web server.

Handlers are thin (routes/); the logic they call is in pure modules (ingest, catalog_view, trials,
contact_view, stats_view) and the I/O in kafka_io and analytics_client. The OpenAPI document is
openapi.yaml, served at /v1/openapi.json.
"""

from agents.api.server import register_api

__all__ = ["register_api"]
