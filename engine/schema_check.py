"""Check a definition against the published JSON Schema (engine/schema/workflow.schema.json)."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator

from engine.parser import Path


@lru_cache(maxsize=1)
def workflow_schema() -> dict[str, Any]:
    """The published schema (package data, read once)."""
    text = resources.files("engine").joinpath("schema/workflow.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    schema = workflow_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def schema_issues(data: Any) -> list[tuple[Path, str]]:
    """(path, message) for each schema violation, most specific first."""
    found: list[tuple[Path, str]] = []
    for error in sorted(_validator().iter_errors(data), key=lambda e: (-len(e.absolute_path), e.message)):
        path: Path = tuple(str(p) if not isinstance(p, int) else p for p in error.absolute_path)
        found.append((path, error.message))
    return found
