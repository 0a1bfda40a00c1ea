"""Migration records in the catalog: runs move only onto a published version, and of two migrations of one
source version the one to the newer version governs, whatever order the records' keys sort in."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from agents.catalog import CatalogError, plan_migration
from agents.definitions import compile_all
from agents.worker_process import REPO
from engine.parser import parse_text

SOURCE = (REPO / "examples" / "workflows" / "abandoned_cart.yaml").read_text()


def version(number: int, status: str) -> dict[str, Any]:
    data: dict[str, Any] = parse_text(SOURCE.replace("version: 1", f"version: {number}")).data
    return {**data, "status": status}


def test_runs_are_not_moved_onto_a_draft() -> None:
    """A draft can still be rewritten: runs moved onto it would run content that keeps changing."""
    definitions = {("abandoned_cart", 1): version(1, "published"), ("abandoned_cart", 2): version(2, "draft")}
    with pytest.raises(CatalogError, match="v2 is a draft"):
        plan_migration(definitions, "abandoned_cart", 2, [1], {})
    definitions[("abandoned_cart", 2)] = version(2, "published")
    key, _ = plan_migration(definitions, "abandoned_cart", 2, [1], {})
    assert key == b"abandoned_cart@2#migration"


def test_the_migration_to_the_newer_version_governs_whatever_the_key_order() -> None:
    versions = {n: version(n, "published") for n in (1, 2, 10)}
    records = [(f"abandoned_cart@{n}".encode(), orjson.dumps(v)) for n, v in versions.items()]
    definitions = {("abandoned_cart", n): v for n, v in versions.items()}
    records += [plan_migration(definitions, "abandoned_cart", to, [1], {}) for to in (2, 10)]
    for ordered in (sorted(records), sorted(records, reverse=True)):  # b"...@10#" sorts before b"...@2#"
        _, migrations, rejected = compile_all(ordered)
        assert rejected == {} and migrations[("abandoned_cart", 1)][0] == 10
