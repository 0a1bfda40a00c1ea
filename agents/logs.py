"""Structured logs: one JSON object per line (SWITCHYARD_LOG_FORMAT=json), for log shippers.

Each line has time, level, logger, message, pid, and the exception text when there is one. Also the
worker's log line that other processes wait for (kept here, light to import, rather than in agents.app).
"""

from __future__ import annotations

import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

# Logged once the definitions are loaded and the tables recovered: from here an event is processed as soon
# as it is fetched (Faust's "Ready" can come before the definitions are read).
PROCESSING_READY = "ready to process events with"
# Logged just before it: which build of the core the worker runs (agents/core_build.py).
CORE_BUILD = "core: "


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage().strip(),
            "pid": os.getpid(),
        }
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(doc, default=str).decode()


def logging_config(level: str, log_format: str) -> dict[str, Any] | None:
    """A dictConfig for the worker, or None to keep Faust's readable default."""
    if log_format != "json":
        return None
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
        },
        "root": {"level": level.upper(), "handlers": ["stderr"]},
    }


def configure_logging(level: str, log_format: str) -> None:
    """Logging for the processes that are not Faust workers (sinks, the analytics writer): readable
    lines, or JSON with SWITCHYARD_LOG_FORMAT=json; aiokafka's chatter only from warnings up."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter()
        if log_format == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, logging.getLogger().level))
