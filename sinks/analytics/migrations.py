"""Versioned schema migrations (sql/migrations/NNN_name.sql) and the views (sql/views/*.sql).

Migrations are applied in order at start, each recorded in `schema_migrations` with a checksum once all of
its statements ran. Their statements are idempotent (IF NOT EXISTS, set-valued backfills), so a crash in
the middle of one is repaired by running it again. An applied migration whose file changed is an error:
a new change needs a new file. Views are code: they are (re)created on every start with CREATE OR REPLACE.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from sinks.analytics.exceptions import MigrationError
from sinks.analytics.store import AnalyticsStore

SQL_DIR = Path(__file__).resolve().parent / "sql"
MIGRATIONS_DIR = SQL_DIR / "migrations"
VIEWS_DIR = SQL_DIR / "views"
_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")
_STATEMENT_END = re.compile(r";[ \t]*(?:\n|$)")

LEDGER_DDL = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    UInt32,
    name       String,
    checksum   String,
    applied_at DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC')
) ENGINE = ReplacingMergeTree ORDER BY version
"""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    def statements(self) -> list[str]:
        return split_statements(self.sql)


def split_statements(sql: str) -> list[str]:
    """Statements of a file: `--` comment lines dropped, split at a `;` that ends a line."""
    text = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    return [part.strip() for part in _STATEMENT_END.split(text) if part.strip()]


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    found: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if match is None:
            raise MigrationError(f"{path.name}: migration files are named NNN_name.sql")
        found.append(Migration(int(match.group(1)), match.group(2), path.read_text()))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"two migration files share a number in {directory}")
    return found


def applied_migrations(store: AnalyticsStore) -> dict[int, str]:
    """version -> checksum of every migration recorded as applied."""
    store.command(LEDGER_DDL)
    result = store.query("SELECT version, checksum FROM schema_migrations FINAL")
    return {int(version): str(checksum) for version, checksum in result.rows}


def migrate(store: AnalyticsStore, migrations: list[Migration] | None = None) -> list[int]:
    """Apply what is not applied yet, in order; returns the versions applied now."""
    migrations = load_migrations() if migrations is None else migrations
    done = applied_migrations(store)
    applied_now: list[int] = []
    for migration in sorted(migrations, key=lambda m: m.version):
        recorded = done.get(migration.version)
        if recorded is not None:
            if recorded != migration.checksum:
                raise MigrationError(
                    f"migration {migration.version:03d}_{migration.name} changed after it was applied; "
                    "put the change in a new migration file"
                )
            continue
        for statement in migration.statements():
            store.command(statement)
        store.insert_columns(
            "schema_migrations",
            ("version", "name", "checksum"),
            ([migration.version], [migration.name], [migration.checksum]),
        )
        applied_now.append(migration.version)
    return applied_now


def view_files(directory: Path = VIEWS_DIR) -> list[Path]:
    return sorted(directory.glob("*.sql"))


def create_views(store: AnalyticsStore, directory: Path = VIEWS_DIR) -> list[str]:
    """(Re)create every view; returns their file stems."""
    names: list[str] = []
    for path in view_files(directory):
        for statement in split_statements(path.read_text()):
            store.command(statement)
        names.append(path.stem)
    return names


def prepare(store: AnalyticsStore) -> list[int]:
    """Everything a writer or a report needs before the first query: migrations, then views."""
    applied = migrate(store)
    create_views(store)
    return applied
