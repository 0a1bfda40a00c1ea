"""Errors of the API package: every one becomes a JSON error response with its status code."""

from __future__ import annotations

from typing import Any

from agents.settings import SettingsError


class ApiError(Exception):
    """A request that cannot be served: HTTP `status`, a stable `code`, a message and optional details."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.details is not None:
            out["details"] = self.details
        return out


class ApiConfigError(SettingsError):
    """API settings we refuse to start with (e.g. a non-loopback address without a token); a SettingsError,
    so the command line reports it as one."""
